"""`flask crm remind`: one overdue digest per manager, one unanswered digest per admin, at most
once a day however often it runs; the digests arrive at a real SMTP server."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from freezegun import freeze_time

from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.triage.models import ReminderDigest
from tests.helpers import count, make_enquiry


def update(app, reference, **values):
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        for key, value in values.items():
            setattr(enquiry, key, value)
        db.session.commit()


def world(app, make_user):
    """On Monday 7 December 2026: Helena has one overdue and one due-today follow-up, Jens one
    next week; one enquiry is past its response target, one is not yet due."""
    ids = {"helena": make_user(name="Helena Peyron", email="helena@investinaalborg.example"),
           "jens": make_user(name="Jens Holm", email="jens@investinaalborg.example"),
           "admin": make_user(role="admin", name="Admin", email="admin@investinaalborg.example"),
           "admin2": make_user(role="admin", name="Admin Two", email="admin2@investinaalborg.example")}
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    refs = {"overdue": make_enquiry(app, assignee_id=ids["helena"], status="contacted", created_at=created),
            "today": make_enquiry(app, assignee_id=ids["helena"], status="won", created_at=created),
            "lost": make_enquiry(app, assignee_id=ids["helena"], status="lost", created_at=created),
            "later": make_enquiry(app, assignee_id=ids["jens"], status="qualified", created_at=created),
            "late": make_enquiry(app, created_at=created),
            "fresh": make_enquiry(app, created_at=created)}
    update(app, refs["overdue"], next_follow_up_on=date(2026, 12, 3), first_response_at=created)
    update(app, refs["today"], next_follow_up_on=date(2026, 12, 7), first_response_at=created)
    update(app, refs["lost"], next_follow_up_on=date(2026, 12, 1))
    update(app, refs["later"], next_follow_up_on=date(2026, 12, 14), first_response_at=created)
    update(app, refs["late"], response_due_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    update(app, refs["fresh"], response_due_at=datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    return ids, refs


def outbox(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def test_digests_once_a_day_delivered_by_smtp(smtp_app, smtp_server, make_user):
    from crm.notifications.worker import run_once

    app = smtp_app
    ids, refs = world(app, make_user)
    runner = app.test_cli_runner()
    with freeze_time("2026-12-07 06:00:00"):  # 07:00 in Copenhagen
        result = runner.invoke(args=["crm", "remind"])
        assert result.exit_code == 0, result.output
        assert "Queued 1 follow-up digests and 2 unanswered digests" in result.output
        again = runner.invoke(args=["crm", "remind"])
        assert "Queued 0 follow-up digests and 0 unanswered digests; 3 had gone out today already." in again.output
    mails = outbox(app)
    assert sorted((m.recipient, m.kind) for m in mails) == [
        ("admin2@investinaalborg.example", "reminder_unanswered"),
        ("admin@investinaalborg.example", "reminder_unanswered"),
        ("helena@investinaalborg.example", "reminder_overdue")]
    with app.app_context():  # the worker's clock on that morning too
        run_once(clock=lambda: datetime(2026, 12, 7, 6, 1, tzinfo=UTC))
    received = {m["to"][0]: m["message"] for m in smtp_server.messages}
    assert set(received) == {"helena@investinaalborg.example", "admin@investinaalborg.example",
                             "admin2@investinaalborg.example"}
    helena = received["helena@investinaalborg.example"]
    assert "overdue" in helena["Subject"] and helena["Subject"] == "Follow-ups: 1 overdue, 1 due today"
    body = helena.get_body(preferencelist=("plain",)).get_content()
    assert refs["overdue"] in body and refs["today"] in body and "OVERDUE since 2026-12-03" in body
    assert refs["lost"] not in body and refs["later"] not in body
    admin = received["admin@investinaalborg.example"]
    assert "unanswered" in admin["Subject"]
    admin_body = admin.get_body(preferencelist=("plain",)).get_content()
    assert refs["late"] in admin_body and refs["fresh"] not in admin_body
    assert "due 2026-12-03 10:00 CET" in admin_body

    # The next day, the digests go out again (once).
    with freeze_time("2026-12-08 06:00:00"):
        runner.invoke(args=["crm", "remind"])
        runner.invoke(args=["crm", "remind"])
    assert len(outbox(app)) == 6
    assert count(app, ReminderDigest) == 6


def test_the_local_day_decides_not_the_utc_one(app, make_user):
    ids, refs = world(app, make_user)
    runner = app.test_cli_runner()
    with freeze_time("2026-12-07 22:30:00"):  # 23:30 on the 7th in Copenhagen
        runner.invoke(args=["crm", "remind"])
    with freeze_time("2026-12-07 23:30:00"):  # 00:30 on the 8th: a new day
        runner.invoke(args=["crm", "remind"])
    with app.app_context():
        days = sorted(set(db.session.scalars(sa.select(ReminderDigest.local_date))))
    assert days == [date(2026, 12, 7), date(2026, 12, 8)]


def test_nothing_due_sends_nothing(app, make_user):
    make_user()
    make_user(role="admin")
    with freeze_time("2026-12-07 06:00:00"):
        result = app.test_cli_runner().invoke(args=["crm", "remind"])
    assert result.exit_code == 0 and count(app, OutboxMessage) == 0 and count(app, ReminderDigest) == 0


def test_an_answered_or_closed_enquiry_is_not_unanswered(app, make_user):
    make_user(role="admin")
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    answered, spam = make_enquiry(app, created_at=created), make_enquiry(app, status="spam", created_at=created)
    for reference in (answered, spam):
        update(app, reference, response_due_at=created + timedelta(days=2))
    update(app, answered, first_response_at=created + timedelta(hours=1))
    with freeze_time("2026-12-07 06:00:00"):
        app.test_cli_runner().invoke(args=["crm", "remind"])
    assert count(app, OutboxMessage) == 0


def test_a_digest_claimed_by_a_concurrent_run_is_not_sent_twice(app, make_user):
    """The unique (user, kind, day) row is the guard: a row already there means no email."""
    ids, refs = world(app, make_user)
    with app.app_context():
        db.session.add(ReminderDigest(user_id=ids["helena"], kind="overdue", local_date=date(2026, 12, 7)))
        db.session.commit()
    with freeze_time("2026-12-07 06:00:00"):
        app.test_cli_runner().invoke(args=["crm", "remind"])
    assert [m.recipient for m in outbox(app) if m.kind == "reminder_overdue"] == []
    assert len([m for m in outbox(app) if m.kind == "reminder_unanswered"]) == 2
