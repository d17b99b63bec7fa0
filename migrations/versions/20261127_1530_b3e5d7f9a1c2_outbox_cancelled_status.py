"""Outbox: a `cancelled` status for mail whose recipient withdrew consent before it went out.

Revision ID: b3e5d7f9a1c2
Revises: a4f2c8e61d35
Create Date: 2026-11-27 15:30:00

"""
from alembic import op


revision = 'b3e5d7f9a1c2'
down_revision = 'a4f2c8e61d35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('pending', 'sent', 'dead', 'cancelled')")


def downgrade():
    op.execute("DELETE FROM outbox_messages WHERE status = 'cancelled'")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('pending', 'sent', 'dead')")
