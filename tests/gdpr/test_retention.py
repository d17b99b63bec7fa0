"""Retention: `flask crm gdpr purge [--dry-run]` with a frozen clock, and retention.csv."""

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from freezegun import freeze_time

from crm.core.audit import AuditLog
from crm.core.db import utcnow
from crm.enquiries.models import Contact, Enquiry, PendingIntake
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone, PurgeRun
from crm.notifications.models import OutboxMessage
from tests.helpers import count, make_enquiry

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def world(app, now=None):
    now = now or NOW
    """Enquiries around the retention limits (relative to `now`), sent mail, old audit entries."""
    start = now - timedelta(days=781)
    refs = {
        "won_old": make_enquiry(app, status="won", email="won@example.com", name="Wendy Won",
                                created_at=start),
        "lost_old": make_enquiry(app, status="lost", email="lost@example.com", name="Lars Lost",
                                 created_at=start),
        "open_old": make_enquiry(app, status="meeting", email="open@example.com", name="Olga Open",
                                 created_at=start),
    }
    for name, status, days in (("lost_recent", "lost", 100), ("spam_31", "spam", 31),
                               ("spam_29", "spam", 29)):
        at = now - timedelta(days=days)
        refs[name] = make_enquiry(app, status=status, email=f"{name}@example.com", name=name.title(),
                                  created_at=at)
    # A person with one old closed enquiry and one open one keeps the open one.
    refs["both_closed"] = make_enquiry(app, status="lost", email="both@example.com", name="Bo Both",
                                       created_at=start)
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == "both@example.com"))
        db.session.add(Enquiry(reference="AAL-BOTH-OPEN", contact=contact, sector="biotech",
                               topic="establishment", message="Still talking", source="form",
                               status="new", created_at=now, last_activity_at=now))
        won = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == refs["won_old"]))
        won.realised_jobs, won.realised_capex_eur = 40, 12_000_000
        db.session.add_all([
            OutboxMessage(message_id="<old@t>", kind="x", recipient="a@example.com", subject="s",
                          text="t", html="h", status="sent", sent_at=now - timedelta(days=31)),
            OutboxMessage(message_id="<new@t>", kind="x", recipient="a@example.com", subject="s",
                          text="t", html="h", status="sent", sent_at=now - timedelta(days=5)),
            AuditLog(action="login", created_at=now - timedelta(days=5 * 365 + 2)),
            AuditLog(action="login", created_at=now - timedelta(days=5 * 365 - 2)),
        ])
        db.session.commit()
    return refs


def state(app):
    with app.app_context():
        return (db.session.execute(sa.select(Enquiry.reference, Enquiry.message, Enquiry.contact_id)
                                   .order_by(Enquiry.id)).all(),
                count(app, OutboxMessage), count(app, AuditLog), count(app, Contact),
                count(app, ErasureTombstone))


def test_dry_run_lists_what_is_due_and_changes_nothing(app, runner):
    refs = world(app)
    before = state(app)
    with freeze_time(NOW):
        result = runner.invoke(args=["crm", "gdpr", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[-1] for line in result.output.splitlines() if line.startswith("due:")}
    assert listed == {refs["won_old"], refs["lost_old"], refs["spam_31"], refs["both_closed"]}
    assert "Would erase 4 enquiries" in result.output and "1 sent emails, 1 audit entries" in result.output
    assert state(app) == before
    with app.app_context():
        run = db.session.scalar(sa.select(PurgeRun))
        assert run.dry_run and run.counts["enquiries"] == 4


def test_purge_erases_what_is_due_keeps_figures_and_is_idempotent(app, runner, admin_client):
    refs = world(app)
    with freeze_time(NOW):
        first = runner.invoke(args=["crm", "gdpr", "purge"])
        second = runner.invoke(args=["crm", "gdpr", "purge"])
    assert first.exit_code == 0, first.output
    assert "Erased 4 enquiries (3 people entirely), 1 sent emails, 1 audit entries" in first.output
    assert "Erased 0 enquiries (0 people entirely), 0 sent emails, 0 audit entries" in second.output
    with app.app_context():
        emails = set(db.session.scalars(sa.select(Contact.email)))
        assert {"won@example.com", "lost@example.com", "spam_31@example.com"}.isdisjoint(emails)
        assert {"open@example.com", "lost_recent@example.com", "spam_29@example.com",
                "both@example.com"} <= emails
        won = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == refs["won_old"]))
        # The landed investment keeps its figures, not its person.
        assert (won.status, won.sector, won.realised_jobs, won.realised_capex_eur) == (
            "won", "medtech", 40, 12_000_000)
        assert won.message == "" and won.contact.email == "erased@anonymous.invalid"
        both = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == refs["both_closed"]))
        assert both.message == "" and both.contact.email == "erased@anonymous.invalid"
        assert db.session.scalar(sa.select(Enquiry.message).where(
            Enquiry.reference == "AAL-BOTH-OPEN")) == "Still talking"
        assert count(app, ErasureTombstone, ErasureTombstone.reason == "retention") == 3
        assert db.session.scalars(sa.select(OutboxMessage.message_id)).all() == ["<new@t>"]
        assert count(app, AuditLog, AuditLog.created_at < NOW - timedelta(days=1000)) == 1
        assert count(app, AuditLog, AuditLog.action == "gdpr.purged") == 2
    page = admin_client.get("/admin/gdpr").text
    assert "Retention has never run" not in page and "enquiries: 4" in page


def test_retention_csv_lists_what_is_due_now_and_when_the_rest_falls_due(app, admin_client):
    # The logged-in session needs the real clock: the world is built around it instead.
    now = utcnow()
    refs = world(app, now)
    response = admin_client.get("/admin/gdpr/retention.csv")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_record = {r["record"]: r for r in rows}
    assert by_record[refs["lost_old"]]["due_now"] == "yes"
    assert by_record[refs["spam_31"]]["due_now"] == "yes"
    spam_29 = by_record[refs["spam_29"]]
    assert spam_29["due_now"] == "no"
    assert spam_29["due_at"].startswith((now + timedelta(days=1)).date().isoformat())
    assert by_record[refs["lost_recent"]]["due_at"].startswith(
        (now - timedelta(days=100) + timedelta(days=730)).date().isoformat())
    assert refs["open_old"] not in by_record  # an open enquiry is not due until it closes
    assert [r["due_now"] for r in rows if r["record_type"] == "outbox_message"] == ["yes", "no"]
    assert [r for r in rows if r["record_type"] == "audit_log"][0]["due_now"] == "yes"
    with app.app_context():
        assert db.session.scalar(sa.select(AuditLog.action).order_by(AuditLog.id.desc())) == \
            "gdpr.retention_exported"


def test_a_queued_submission_never_stored_is_purged_after_the_retention_period(app, runner):
    from crm.gdpr.retention import retention_csv

    def row(reference, days):
        at = NOW - timedelta(days=days)
        return PendingIntake(reference=reference, name="Ida Queue", email=f"{reference}@example.com",
                             company="", phone="", country="DK", sector="medtech", topic="other",
                             message="Held", language="en", policy_version="1999-01",
                             policy_language="en", received_at=at, next_attempt_at=NOW,
                             attempts=40, last_error="ValueError: no such policy")

    with app.app_context():
        db.session.add_all([row("AAL-OLD-QUEUE", 731), row("AAL-NEW-QUEUE", 10)])
        db.session.commit()
    with freeze_time(NOW):
        with app.app_context():
            rows = list(csv.DictReader(io.StringIO(b"".join(retention_csv()).decode())))
        queued = {r["record"]: (r["status"], r["due_now"]) for r in rows if r["record_type"] == "intake_submission"}
        assert queued == {"AAL-OLD-QUEUE": ("failing", "yes"), "AAL-NEW-QUEUE": ("failing", "no")}
        dry = runner.invoke(args=["crm", "gdpr", "purge", "--dry-run"])
        assert count(app, PendingIntake) == 2
        purge = runner.invoke(args=["crm", "gdpr", "purge"])
        again = runner.invoke(args=["crm", "gdpr", "purge"])
    assert "1 queued API submissions never stored" in dry.output
    assert "1 queued API submissions never stored" in purge.output, purge.output
    assert "queued" not in again.output
    with app.app_context():
        assert db.session.scalars(sa.select(PendingIntake.reference)).all() == ["AAL-NEW-QUEUE"]
        runs = db.session.scalars(sa.select(PurgeRun).order_by(PurgeRun.id)).all()
        assert [r.counts["pending_submissions"] for r in runs] == [1, 1, 0]
