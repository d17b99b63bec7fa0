"""Spent time-trap tokens of the public form (single use across processes).

Revision ID: c7d2a4e9f311
Revises: 8e4f2a6c1d37
Create Date: 2026-11-27 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c7d2a4e9f311'
down_revision = '8e4f2a6c1d37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'spent_form_tokens',
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('spent_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('nonce', name=op.f('pk_spent_form_tokens')),
    )
    with op.batch_alter_table('spent_form_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_form_tokens_spent_at'), ['spent_at'], unique=False)


def downgrade():
    with op.batch_alter_table('spent_form_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_form_tokens_spent_at'))
    op.drop_table('spent_form_tokens')
