"""Enquiries: a priority and the promised first-response time.

Revision ID: 5b1c2e7d9a01
Revises: ded496063dfc
Create Date: 2026-11-27 12:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5b1c2e7d9a01'
down_revision = 'ded496063dfc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.String(length=6), server_default='normal', nullable=False))
        batch_op.create_check_constraint('priority', "priority IN ('high', 'normal', 'low')")
        batch_op.create_index('ix_enquiries_response_due', ['first_response_at', 'response_due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_response_due')
        batch_op.drop_constraint('priority', type_='check')
        batch_op.drop_column('priority')
        batch_op.drop_column('response_due_at')
