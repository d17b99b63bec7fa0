"""Inbox and dashboard indexes for a million enquiries: each filter with the default order,
each sort, and (status, closed_at) for landed/lost per quarter.

sector and topic get (column, created_at) instead of their one-column indexes, so that a filter
and the newest-first order come from one index; priority, last activity and the response due
time get theirs, and (assignee_id, created_at) serves `assignee=me|unassigned|<id>`.

Revision ID: a4f2c8e61d35
Revises: 7d3e9a4c1b20
Create Date: 2026-11-27 13:10:00

"""
from alembic import op


revision = 'a4f2c8e61d35'
down_revision = '7d3e9a4c1b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_sector')
        batch_op.drop_index('ix_enquiries_topic')
        batch_op.create_index('ix_enquiries_assignee_created', ['assignee_id', 'created_at'], unique=False)
        batch_op.create_index('ix_enquiries_sector_created', ['sector', 'created_at'], unique=False)
        batch_op.create_index('ix_enquiries_topic_created', ['topic', 'created_at'], unique=False)
        batch_op.create_index('ix_enquiries_priority_created', ['priority', 'created_at'], unique=False)
        batch_op.create_index('ix_enquiries_last_activity', ['last_activity_at'], unique=False)
        batch_op.create_index('ix_enquiries_response_due_at', ['response_due_at'], unique=False)
        batch_op.create_index('ix_enquiries_status_closed', ['status', 'closed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_status_closed')
        batch_op.drop_index('ix_enquiries_response_due_at')
        batch_op.drop_index('ix_enquiries_last_activity')
        batch_op.drop_index('ix_enquiries_priority_created')
        batch_op.drop_index('ix_enquiries_topic_created')
        batch_op.drop_index('ix_enquiries_sector_created')
        batch_op.drop_index('ix_enquiries_assignee_created')
        batch_op.create_index('ix_enquiries_topic', ['topic'], unique=False)
        batch_op.create_index('ix_enquiries_sector', ['sector'], unique=False)
