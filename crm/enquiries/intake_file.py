"""SQLite: the intake queue's table in a file of its own, beside the database.

SQLite has one write lock per database file. With the `intake` table in the main file, the
intake fast path's one-row inserts waited behind the worker, which holds that lock for
several ms while it stores an enquiry (docs/performance.md, "The intake queue"). In a file of
its own (`<database>-intake`, attached to every connection as INTAKE_SCHEMA) the table has its
own lock: the fast path writes only there (reading the policy and the references from the main
file), and the worker takes the intake file's lock only for the delete at the end of its
transaction.

An unqualified `intake` finds this table, since the main file no longer has one (migration
c3a9e1f4b2d7): queries, erasure and the export need no change. The table is the model's
(PendingIntake), made here when missing, so a restored or new database gets an empty queue
with it; a change of the model's columns needs a step here as well as a migration.

A transaction that writes both files commits the main file first (SQLite commits attached
databases in order), and WAL gives no atomic commit across files: a crash between the two
leaves a row whose enquiry exists, which the worker recognises and deletes
(crm.enquiries.intake). Every writer of both files takes the main file's lock first (the
worker, erasure, consent withdrawal), so two writers never wait on each other crosswise.
"""

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from crm.core.db import NAMING_CONVENTION
from crm.enquiries.models import PendingIntake

INTAKE_SCHEMA = "intake_queue"
SUFFIX = "-intake"


def _ddl():
    # The index names of the main file's table (the default convention would add the schema).
    names = NAMING_CONVENTION | {"ix": "ix_%(table_name)s_%(column_0_name)s"}
    table = PendingIntake.__table__.to_metadata(sa.MetaData(naming_convention=names), schema=INTAKE_SCHEMA)
    dialect = sa.dialects.sqlite.dialect()
    return [str(CreateTable(table, if_not_exists=True).compile(dialect=dialect))] + [
        str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
        for index in sorted(table.indexes, key=lambda index: index.name)]


def intake_path(database_path):
    """The intake file of the SQLite database at `database_path` ('' for an in-memory one)."""
    return f"{database_path}{SUFFIX}" if database_path else ":memory:"


def attach_to(engine):
    """Attach the intake file to every new connection of `engine`, when it is SQLite."""
    if engine.dialect.name != "sqlite":
        return
    statements = _ddl()

    @sa.event.listens_for(engine, "connect")
    def attach(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            main = next(row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main")
            cursor.execute(f"ATTACH DATABASE ? AS {INTAKE_SCHEMA}", (intake_path(main),))
            # As the main file (crm.core.db): WAL, erased rows overwritten on disk.
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "secure_delete=ON"):
                cursor.execute(f"PRAGMA {INTAKE_SCHEMA}.{pragma}")
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
