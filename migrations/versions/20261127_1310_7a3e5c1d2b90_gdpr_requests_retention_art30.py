"""GDPR: data-subject requests, retention runs and the record of processing (Art. 30).

Revision ID: 7a3e5c1d2b90
Revises: 7c3e9a1f4b20
Create Date: 2026-11-27 13:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '7a3e5c1d2b90'
down_revision = '7c3e9a1f4b20'
branch_labels = None
depends_on = None

# The record of processing as this CRM does it; admins edit it at /admin/gdpr/processing.
SECTIONS = [
    ("Controller", "Invest in Aalborg, the investment promotion agency of the Aalborg area. "
     "Contact for data protection questions: the address on the privacy page (/privacy)."),
    ("Purposes", "Answering enquiries from companies and investors considering the Aalborg area; "
     "following them up (meetings, proposals, aftercare of landed investments); proving the "
     "consent given; reporting anonymous pipeline figures (enquiries, jobs and capex by sector)."),
    ("Lawful basis", "Consent given on the enquiry form or through the website's API (Art. 6(1)(a)), "
     "recorded with the exact policy text (SHA-256), time, method, client address and user agent; "
     "enquiries taken by phone or at fairs record how consent was obtained."),
    ("Categories of data subjects", "Contact persons of prospective investors and companies; "
     "staff of Invest in Aalborg (accounts, audit log)."),
    ("Categories of personal data", "Prospects: name, email, phone, company, country, the message "
     "of each enquiry, notes and replies written about it, emails sent to them, consent evidence "
     "(client address, user agent). Staff: name, email, role, sign-in times and addresses. No "
     "special categories are asked for."),
    ("Recipients", "Investment managers and admins of Invest in Aalborg; the organisation's email "
     "provider (delivery of the emails); the hosting provider of this application. No data is "
     "sold or shared for marketing."),
    ("Transfers to third countries", "None by the application itself. Check the hosting and "
     "email providers' locations when they change."),
    ("Retention", "Closed enquiries (won, lost, spam) are erased after CRM_RETENTION_DAYS "
     "(default 730 days) without activity; spam after 30 days; sent emails after "
     "CRM_OUTBOX_RETENTION_DAYS (default 30); the audit log after 5 years. Landed investments "
     "keep anonymous figures (sector, status, dates, jobs, capex). `flask crm gdpr purge` runs "
     "daily."),
    ("Security measures", "Staff sign in with argon2-hashed passwords, throttled attempts and "
     "two-factor authentication for admins; roles limit who sees which enquiry; every view of "
     "personal data, export and erasure is written to an append-only audit log; TLS in "
     "production; erasure overwrites deleted data on disk (SQLite secure_delete and WAL "
     "checkpoint); logs never hold names, addresses or message bodies."),
    ("Source of the data", "The data subject (form, API, phone call or meeting)."),
]


def upgrade():
    op.create_table('data_subject_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('subject_hmac', sa.String(length=64), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('access', 'erasure', 'rectification', 'objection')", name=op.f('ck_data_subject_requests_kind')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_data_subject_requests_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], name=op.f('fk_data_subject_requests_handled_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_requests'))
    )
    with op.batch_alter_table('data_subject_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_subject_requests_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_subject_requests_subject_hmac'), ['subject_hmac'], unique=False)

    op.create_table('purge_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purge_runs'))
    )
    with op.batch_alter_table('purge_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purge_runs_started_at'), ['started_at'], unique=False)

    records = op.create_table('processing_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('heading', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_processing_records_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_records'))
    )
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC, as crm.core.db.UTCDateTime does
    op.bulk_insert(records, [
        {"position": i, "heading": heading, "body": body, "updated_at": now}
        for i, (heading, body) in enumerate(SECTIONS, start=1)
    ])


def downgrade():
    op.drop_table('processing_records')
    with op.batch_alter_table('purge_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purge_runs_started_at'))
    op.drop_table('purge_runs')
    with op.batch_alter_table('data_subject_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_subject_requests_subject_hmac'))
        batch_op.drop_index(batch_op.f('ix_data_subject_requests_due_on'))
    op.drop_table('data_subject_requests')
