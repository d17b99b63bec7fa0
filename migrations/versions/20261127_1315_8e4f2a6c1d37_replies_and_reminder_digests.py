"""Replies with Reply-To, and the reminder digests sent (once per person, kind and day).

Revision ID: 8e4f2a6c1d37
Revises: 7a3e5c1d2b90
Create Date: 2026-11-27 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '8e4f2a6c1d37'
down_revision = '7a3e5c1d2b90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=254), nullable=True))
    op.create_table(
        'reminder_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('overdue', 'unanswered')", name=op.f('ck_reminder_digests_kind')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminder_digests_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_digests')),
        sa.UniqueConstraint('user_id', 'kind', 'local_date', name='uq_reminder_digests_once_a_day'),
    )


def downgrade():
    op.drop_table('reminder_digests')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('reply_to')
