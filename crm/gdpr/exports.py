"""Streamed exports: CSV rows built in keyset batches, so memory stays flat at any size."""

import contextlib
import csv
import io
import operator

import sqlalchemy as sa

from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from crm.gdpr.subjects import ANONYMOUS_EMAIL

BATCH = 5000
CONSENT_COLUMNS = ("reference", "email", "name", "given_at", "policy_version", "policy_sha256",
                   "method", "ip_address", "withdrawn_at")
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def neutralise(value):
    """A cell as text a spreadsheet shows, never runs: formula-like text gets a leading '."""
    if value is None:
        return ""
    if value.__class__ is not str:
        value = iso_utc(value) if hasattr(value, "isoformat") else str(value)
    return "'" + value if value[:1] in _FORMULA_FIRST else value


def iso_utc(value):
    return value.isoformat().replace("+00:00", "Z")


def csv_lines(header, rows, rows_per_chunk=500):
    """Yield the header, then the rows as CSV text in chunks (formula cells neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        pending += 1
        if pending >= rows_per_chunk:  # fewer, larger writes to the socket
            yield _drain(buffer)
            pending = 0
    yield _drain(buffer)


def _drain(buffer):
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def utc_text(column):
    """A UTC timestamp column as ISO 8601 text (`2026-11-27T12:00:00Z`), formatted by the database.

    Formatting in SQL saves parsing into datetime objects and back for every row of an export.
    """
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column)  # SQLite stores naive UTC


def safe_text(column):
    """SQL: a text column neutralised by the database (a leading formula character gets a ')."""
    first = sa.func.substr(column, 1, 1)
    return sa.case((first.in_(FORMULA_STARTS), sa.literal("'") + column), else_=column)


def _sql(query, connection):
    # Bound values are the previous batch's key and fixed strings: safe to inline, so the
    # driver's cursor (plain tuples, no Row objects) can run the statement as it is.
    return str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))


def csv_from_query(header, select, key, batch=None):
    """Yield CSV text for `select` (unique `key` first, not written; text cells neutralised
    with safe_text) with flat memory.

    PostgreSQL: `COPY (…) TO STDOUT WITH CSV`, streamed as the server writes it (what
    `psql \\copy` does). SQLite: keyset batches by `key` on one connection, each a short read,
    through the driver's cursor into the C csv writer. docs/performance.md has the numbers.
    """
    batch = batch or BATCH
    with db.engine.connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        buffer = io.StringIO()
        # COPY ends lines with LF; the header matches it there (CRLF elsewhere, as csv writes).
        writer = csv.writer(buffer, lineterminator="\n" if postgresql else "\r\n")
        writer.writerow(header)
        yield _drain(buffer)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if postgresql:
                rows = select.with_only_columns(*list(select.selected_columns)[1:]).order_by(key)
                # Bytes as the server sends them (a chunk may end inside a UTF-8 character).
                with cursor.copy(f"COPY ({_sql(rows, connection)}) TO STDOUT WITH (FORMAT csv)") as copy:
                    for chunk in copy:
                        yield bytes(chunk)
                return
            with _small_page_cache(connection):
                drop_key = operator.itemgetter(slice(1, None))
                last = None
                while True:
                    query = select.order_by(key).limit(batch)
                    if last is not None:
                        query = query.where(key > last)
                    cursor.execute(_sql(query, connection))
                    rows = cursor.fetchall()
                    connection.rollback()
                    if not rows:
                        return
                    writer.writerows(map(drop_key, rows))
                    yield _drain(buffer)
                    last = rows[-1][0]
        finally:
            cursor.close()


@contextlib.contextmanager
def _small_page_cache(connection):
    """SQLite: a full scan gains nothing from the 64 MiB page cache (crm.core.db) and would fill
    it, growing the worker by as much; the export's connection uses 8 MiB, then gets it back."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar())
    connection.exec_driver_sql("PRAGMA cache_size=-8192")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={previous}")
        connection.rollback()


def consent_select():
    """The consent register (CONTRACT §6) as text cells, keyed by the consent's id."""
    return (
        sa.select(Consent.id, safe_text(Enquiry.reference), safe_text(Contact.email),
                  safe_text(Contact.name), utc_text(Consent.given_at),
                  safe_text(Consent.policy_version), safe_text(Consent.policy_sha256),
                  safe_text(Consent.method), safe_text(Consent.ip_address),
                  utc_text(Consent.withdrawn_at))
        .join(Contact, Contact.id == Consent.contact_id)
        .outerjoin(Enquiry, Enquiry.id == Consent.enquiry_id)
        .where(Contact.email != ANONYMOUS_EMAIL)
    )


def consent_csv():
    """The consent register as streamed CSV text, oldest consent first."""
    return csv_from_query(CONSENT_COLUMNS, consent_select(), Consent.id)
