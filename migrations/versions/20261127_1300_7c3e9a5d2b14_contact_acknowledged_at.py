"""Contacts: when the last acknowledgement was queued (at most one an hour per address).

Revision ID: 7c3e9a5d2b14
Revises: 5b1c2e7d9a01
Create Date: 2026-11-27 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c3e9a5d2b14'
down_revision = '5b1c2e7d9a01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('acknowledged_at')
