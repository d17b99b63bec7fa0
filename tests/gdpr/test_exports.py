"""The shared CSV export helper: the database writes the CSV, and it reads back exactly as
csv.writer's output of the same cells (formula cells neutralised), across batches."""

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from crm.gdpr import exports
from crm.gdpr.audit_log import AuditFilters, audit_log_csv
from tests.helpers import make_enquiry

# Cells a spreadsheet would run, cells csv.writer must quote, and both at once.
AWKWARD = ["Jensen, Ada", 'Ada "AJ" Jensen', "two\nlines", "cr\r\nlf", "=1+2", "+45 20", "-2",
           "@SUM(A1)", "\tTab", "\rCR", '=HYPERLINK("http://x", "y")', "Zoë 王", "'quoted", ",", '"',
           "0=", ":colon", " lead", "\x1f", "Plain"]


def reference_csv(rows):
    """What csv.writer writes for these cells, neutralised as the contract says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(exports.CONSENT_COLUMNS)
    for row in rows:
        writer.writerow(["'" + v if v[:1] in exports.FORMULA_STARTS else v for v in row])
    return buffer.getvalue()


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def register(app):
    """The register's expected cells, read through the ORM, in consent order."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Enquiry.reference, Contact.email, Contact.name, Consent.given_at,
                      Consent.policy_version, Consent.policy_sha256, Consent.method,
                      Consent.ip_address, Consent.withdrawn_at)
            .join(Contact, Contact.id == Consent.contact_id)
            .outerjoin(Enquiry, Enquiry.id == Consent.enquiry_id).order_by(Consent.id)).all()
    return [[r[0], r[1], r[2], iso(r[3]), r[4], r[5], r[6], r[7] or "", iso(r[8])] for r in rows]


@pytest.mark.parametrize("batch", [3, 5000])
def test_the_register_reads_back_exactly_as_csv_writer_writes_it(app, admin_client, monkeypatch, batch):
    monkeypatch.setattr(exports, "BATCH", batch)
    # Plain rows first and last, so that with batches of 3 some batches are clean and some not.
    names = ["Plain A", "Plain B", "Plain C", *AWKWARD, "Plain D", "Plain E", "Plain F"]
    for i, name in enumerate(names):
        make_enquiry(app, name=name, email=f"p{i}@example.com")
    with app.app_context():
        consents = db.session.scalars(sa.select(Consent).order_by(Consent.id)).all()
        for i, consent in enumerate(consents):
            consent.ip_address = [None, "192.0.2.7", "-1", "a,b", ""][i % 5]
            consent.method = ["form", "=cmd", "api"][i % 3]
            consent.given_at = consent.given_at.replace(microsecond=999_999 if i % 2 else 0)
            if i % 4 == 0:
                consent.withdrawn_at = datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC)
        db.session.commit()
    expected = register(app)

    body = admin_client.get("/admin/gdpr/consents.csv").get_data()

    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert rows == list(csv.reader(io.StringIO(reference_csv(expected), newline="")))
    # Every row once, in consent order, across batches.
    assert [r[2] for r in rows[1:]] == [("'" if n[:1] in "=+-@\t\r" else "") + n for n in names]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert body == reference_csv(expected).encode()  # the very bytes csv.writer writes


def test_audit_csv_keeps_microseconds_as_isoformat_writes_them(app, admin_client):
    times = [datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC), datetime(2026, 5, 4, 3, 2, 1, 250, tzinfo=UTC)]
    with app.app_context():
        for moment in times:
            db.session.add(AuditLog(action="enquiry.viewed", target_type="enquiry", target_id="=1",
                                    ip_address="10.0.0.1", created_at=moment))
        db.session.commit()
    rows = list(csv.DictReader(io.StringIO(
        admin_client.get("/admin/audit.csv?action=enquiry.viewed").text)))
    assert [r["created_at"] for r in rows] == ["2026-05-04T03:02:01Z", "2026-05-04T03:02:01.000250Z"]
    assert {r["target_id"] for r in rows} == {"'=1"} and rows[0]["actor_id"] == ""


def test_audit_csv_streams_in_keyset_batches(app, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)
    with app.app_context():
        for i in range(5):
            db.session.add(AuditLog(action="a,b" if i == 2 else "login", target_id=str(i)))
        db.session.commit()
        chunks = list(audit_log_csv(AuditFilters()))
        if db.engine.dialect.name == "sqlite":  # PostgreSQL's COPY sends chunks of its own
            assert len(chunks) == 1 + 3  # the header, then batches of 2, 2 and 1
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert [r["target_id"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[2]["action"] == "a,b"
