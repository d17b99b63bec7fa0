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


def neutralise(value):
    """A cell as text a spreadsheet shows, never runs: formula-like text gets a leading '."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return iso_utc(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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


def consent_rows():
    """The consent register (CONTRACT §6), oldest consent first."""
    select = (
        sa.select(Consent.id, Enquiry.reference, Contact.email, Contact.name, Consent.given_at,
                  Consent.policy_version, Consent.policy_sha256, Consent.method,
                  Consent.ip_address, Consent.withdrawn_at)
        .join(Contact, Contact.id == Consent.contact_id)
        .outerjoin(Enquiry, Enquiry.id == Consent.enquiry_id)
        .where(Contact.email != ANONYMOUS_EMAIL)
    )
    return keyset(select, Consent.id)
