"""Streamed exports: CSV rows built in keyset batches, so memory stays flat at any size."""

import csv
import io

import sqlalchemy as sa

from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from crm.gdpr.subjects import ANONYMOUS_EMAIL

BATCH = 2000
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


def keyset(select, key, batch=BATCH):
    """Run `select` in batches ordered by `key` (a unique column that is selected first)."""
    last = None
    while True:
        query = select.order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        rows = db.session.execute(query).all()
        db.session.rollback()  # end the read transaction between batches (no long snapshot)
        if not rows:
            return
        for row in rows:
            yield row[1:]
        last = rows[-1][0]


def utc_text(column):
    """A UTC timestamp column as ISO 8601 text (`2026-11-27T12:00:00Z`), formatted by the database.

    Formatting in SQL saves parsing into datetime objects and back for every row of an export.
    """
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column)  # SQLite stores naive UTC


def consent_rows():
    """The consent register (CONTRACT §6), oldest consent first."""
    select = (
        sa.select(Consent.id, Enquiry.reference, Contact.email, Contact.name,
                  utc_text(Consent.given_at), Consent.policy_version, Consent.policy_sha256,
                  Consent.method, Consent.ip_address, utc_text(Consent.withdrawn_at))
        .join(Contact, Contact.id == Consent.contact_id)
        .outerjoin(Enquiry, Enquiry.id == Consent.enquiry_id)
        .where(Contact.email != ANONYMOUS_EMAIL)
    )
    return keyset(select, Consent.id)
