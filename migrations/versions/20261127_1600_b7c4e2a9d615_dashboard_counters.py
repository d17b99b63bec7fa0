"""Dashboard counters: sums over enquiries by month, week, response hours, closing month and
status, kept in step by triggers on enquiries, and filled from the enquiries already there;
the follow-up and response-due indexes widened for the figures of the moment.

The dashboard and the board's report read whole months and weeks from these tables instead of
grouping every enquiry of the period (crm/dashboard/counters.py). The triggers (SQLite) and
trigger functions (PostgreSQL) are generated from the counters' description in
crm/dashboard/counters.py: a later change to that description needs a migration that drops
and creates them again and calls its rebuild. Like the search triggers, they live outside
the models (SQLite drops a table's triggers when a batch migration recreates `enquiries`:
create them again after such a migration).

Revision ID: b7c4e2a9d615
Revises: b3e5d7f9a1c2
Create Date: 2026-11-27 16:00:00

"""
import sqlalchemy as sa
from alembic import op

from crm.dashboard import counters

revision = 'b7c4e2a9d615'
down_revision = 'b3e5d7f9a1c2'
branch_labels = None
depends_on = None


def _sums():
    return [sa.Column(name, sa.BigInteger(), nullable=False)
            for name in ('planned_jobs', 'planned_capex_eur', 'realised_jobs', 'realised_capex_eur')]


def upgrade():
    op.create_table(
        'dashboard_months',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('sector', sa.String(length=20), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.Column('answered', sa.BigInteger(), nullable=False),
        sa.Column('on_time', sa.BigInteger(), nullable=False),
        sa.Column('answered_late', sa.BigInteger(), nullable=False),
        sa.Column('unanswered_due', sa.BigInteger(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint('month', 'status', 'sector', 'source', 'assignee_id',
                                name=op.f('pk_dashboard_months')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'dashboard_weeks',
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('sector', sa.String(length=20), nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('week', 'sector', 'assignee_id', name=op.f('pk_dashboard_weeks')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'dashboard_response_hours',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('hours', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'hours', 'assignee_id', name=op.f('pk_dashboard_response_hours')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'dashboard_closings',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('lost_reason', sa.String(length=500), nullable=False),
        sa.Column('sector', sa.String(length=20), nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint('month', 'status', 'lost_reason', 'sector', 'assignee_id',
                                name=op.f('pk_dashboard_closings')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'dashboard_totals',
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('sector', sa.String(length=20), nullable=False),
        sa.Column('assignee_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint('status', 'sector', 'assignee_id', name=op.f('pk_dashboard_totals')),
        sqlite_with_rowid=False,
    )
    # The same leading columns as before (the inbox's plans do not change), and what the
    # dashboard's per-manager counts of the moment need, so that they read the index alone.
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_follow_up')
        batch_op.drop_index('ix_enquiries_response_due')
        batch_op.create_index('ix_enquiries_follow_up', ['next_follow_up_on', 'status', 'assignee_id'], unique=False)
        batch_op.create_index('ix_enquiries_response_due',
                              ['first_response_at', 'response_due_at', 'status', 'assignee_id'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':  # statistics for the new indexes, as the ones they replace had
        op.execute('PRAGMA analysis_limit=1000')
        op.execute('ANALYZE ix_enquiries_follow_up')
        op.execute('ANALYZE ix_enquiries_response_due')
    for statement in counters.trigger_statements(dialect) + counters.rebuild_statements(dialect):
        op.execute(statement)


def downgrade():
    for statement in counters.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('enquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_enquiries_response_due')
        batch_op.drop_index('ix_enquiries_follow_up')
        batch_op.create_index('ix_enquiries_response_due', ['first_response_at', 'response_due_at'], unique=False)
        batch_op.create_index('ix_enquiries_follow_up', ['next_follow_up_on', 'status'], unique=False)
    for table in ('dashboard_totals', 'dashboard_closings', 'dashboard_response_hours', 'dashboard_weeks',
                  'dashboard_months'):
        op.drop_table(table)
