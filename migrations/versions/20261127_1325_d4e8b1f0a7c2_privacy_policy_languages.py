"""Privacy policies per language (the Danish text of 2026-01); consents record the language shown.

Revision ID: d4e8b1f0a7c2
Revises: c7d2a4e9f311
Create Date: 2026-11-27 13:10:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from crm.enquiries.policy import FIRST_POLICY_TEXT_DA, FIRST_POLICY_VERSION, policy_sha256


revision = 'd4e8b1f0a7c2'
down_revision = 'c7d2a4e9f311'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('privacy_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), server_default='en', nullable=False))
        batch_op.drop_constraint('uq_privacy_policies_version', type_='unique')
        batch_op.create_unique_constraint('uq_privacy_policies_version_language', ['version', 'language'])
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_language', sa.String(length=5), server_default='en', nullable=False))
    policies = sa.table(
        'privacy_policies', sa.column('version', sa.String), sa.column('language', sa.String),
        sa.column('text', sa.Text), sa.column('sha256', sa.String),
        sa.column('published_at', sa.DateTime(timezone=True)),
    )
    published_at = datetime(2026, 1, 1, tzinfo=UTC)
    if op.get_bind().dialect.name == 'sqlite':
        published_at = published_at.replace(tzinfo=None)  # stored as naive UTC there
    op.bulk_insert(policies, [{
        'version': FIRST_POLICY_VERSION, 'language': 'da', 'text': FIRST_POLICY_TEXT_DA,
        'sha256': policy_sha256(FIRST_POLICY_TEXT_DA), 'published_at': published_at,
    }])


def downgrade():
    op.execute("DELETE FROM privacy_policies WHERE language <> 'en'")
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('policy_language')
    with op.batch_alter_table('privacy_policies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_privacy_policies_version_language', type_='unique')
        batch_op.create_unique_constraint('uq_privacy_policies_version', ['version'])
        batch_op.drop_column('language')
