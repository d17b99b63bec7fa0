"""SQLite: the intake queue's table moves to a file of its own (crm/enquiries/intake_file.py).

The app attaches `<database>-intake` to every SQLite connection and makes the table there; this
moves the rows waiting in the main file's `intake` over and drops that table, so that the
unqualified name finds the attached one. Nothing changes on PostgreSQL.

Revision ID: c3a9e1f4b2d7
Revises: 77daf8f9ba7a
Create Date: 2026-11-27 21:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3a9e1f4b2d7'
down_revision = '77daf8f9ba7a'
branch_labels = None
depends_on = None

SCHEMA = 'intake_queue'  # crm.enquiries.intake_file.INTAKE_SCHEMA, as it was at this revision
COLUMNS = ('id, reference, name, email, company, phone, country, sector, topic, message, language, '
           'policy_version, policy_language, ip_address, user_agent, received_at, attempts, '
           'next_attempt_at, last_error')


def _sqlite_with_intake_file():
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return False
    attached = {row[1] for row in bind.exec_driver_sql('PRAGMA database_list')}
    if SCHEMA not in attached:
        raise RuntimeError(f'the intake file is not attached as {SCHEMA}: run the migration through the app')
    return True


def upgrade():
    if not _sqlite_with_intake_file():
        return
    op.execute(f'INSERT INTO {SCHEMA}.intake ({COLUMNS}) SELECT {COLUMNS} FROM main.intake')
    op.execute('DROP INDEX main.ix_intake_next_attempt_at')
    op.execute('DROP INDEX main.ix_intake_email')
    op.execute('DROP TABLE main.intake')


def downgrade():
    if not _sqlite_with_intake_file():
        return
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
    sa.UniqueConstraint('reference', name=op.f('uq_intake_reference')),
    schema='main',
    )
    op.create_index(op.f('ix_intake_email'), 'intake', ['email'], unique=False, schema='main')
    op.create_index(op.f('ix_intake_next_attempt_at'), 'intake', ['next_attempt_at'], unique=False,
                    schema='main')
    op.execute(f'INSERT INTO main.intake ({COLUMNS}) SELECT {COLUMNS} FROM {SCHEMA}.intake')
    op.execute(f'DELETE FROM {SCHEMA}.intake')
