"""Contact search: FTS5 with the trigram tokenizer on SQLite, pg_trgm GIN indexes on PostgreSQL.

The inbox's `q` finds a substring of a contact's name, email or company through an index
instead of scanning every row (crm/triage/search.py). On SQLite the FTS table mirrors
`contacts` (external content) and triggers keep it in step with every insert, update and
delete, erasure included. The migrations own these objects; migrations/env.py keeps them out
of autogenerate.

Revision ID: 7d3e9a4c1b20
Revises: a7e3c1d9b2f4
Create Date: 2026-11-27 13:00:00

"""
from alembic import op


revision = '7d3e9a4c1b20'
down_revision = 'a7e3c1d9b2f4'
branch_labels = None
depends_on = None

TRGM_COLUMNS = ('name', 'email', 'company')

SQLITE_UP = [
    "CREATE VIRTUAL TABLE contacts_search USING fts5(name, email, company, content='contacts', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contacts_search(rowid, name, email, company) VALUES (new.id, new.name, new.email, new.company); "
    "END",
    "CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contacts_search(contacts_search, rowid, name, email, company) "
    "VALUES ('delete', old.id, old.name, old.email, old.company); END",
    "CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email, company ON contacts BEGIN "
    "INSERT INTO contacts_search(contacts_search, rowid, name, email, company) "
    "VALUES ('delete', old.id, old.name, old.email, old.company); "
    "INSERT INTO contacts_search(rowid, name, email, company) VALUES (new.id, new.name, new.email, new.company); "
    "END",
    "INSERT INTO contacts_search(contacts_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS contacts_search_update",
    "DROP TRIGGER IF EXISTS contacts_search_delete",
    "DROP TRIGGER IF EXISTS contacts_search_insert",
    "DROP TABLE IF EXISTS contacts_search",
]


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in TRGM_COLUMNS:
            op.execute(f'CREATE INDEX ix_contacts_{column}_trgm ON contacts USING gin ({column} gin_trgm_ops)')
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for column in TRGM_COLUMNS:
            op.execute(f'DROP INDEX IF EXISTS ix_contacts_{column}_trgm')
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
