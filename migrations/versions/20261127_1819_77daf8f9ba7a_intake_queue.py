"""The intake queue (CRM_INTAKE_QUEUE): API submissions accepted, waiting for the worker to store them.

Revision ID: 77daf8f9ba7a
Revises: b7c4e2a9d615
Create Date: 2026-11-27 18:19:14

"""
from alembic import op
import sqlalchemy as sa


revision = '77daf8f9ba7a'
down_revision = 'b7c4e2a9d615'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('intake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('sector', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('policy_version', sa.String(length=20), nullable=False),
    sa.Column('policy_language', sa.String(length=5), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake')),
    sa.UniqueConstraint('reference', name=op.f('uq_intake_reference'))
    )
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_next_attempt_at'), ['next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_intake_email'))

    op.drop_table('intake')
