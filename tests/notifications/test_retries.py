"""The retry schedule (CONTRACT §7), driven by an injected clock through the real worker."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.services import NotRequeueable, requeue_message
from crm.notifications.worker import GIVE_UP_AFTER, drain, retry_delay
from tests.notifications.helpers import add_messages, one


@pytest.mark.parametrize("rng", [lambda: 0.0, lambda: 0.5, lambda: 0.999999])
def test_retry_delay_starts_under_a_minute_doubles_and_stops_at_an_hour(rng):
    delays = [retry_delay(n, rng).total_seconds() for n in range(1, 40)]
    bases = [min(30 * 2 ** (n - 1), 3600) for n in range(1, 40)]
    assert delays[0] < 60
    for delay, base in zip(delays, bases, strict=True):
        assert 0.75 * base <= delay <= base <= 3600
    assert bases[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_jitter_spreads_retries_of_messages_that_failed_together():
    assert len({retry_delay(3) for _ in range(20)}) > 1


def test_retry_delay_survives_absurd_attempt_counts():
    assert retry_delay(10_000, lambda: 0.0) == timedelta(hours=1)
    assert retry_delay(0, lambda: 0.0) == timedelta(seconds=30)


def test_a_server_that_stays_down_is_retried_with_backoff_and_given_up_after_24_hours(
    smtp_app, smtp_server
):
    (message,) = add_messages(smtp_app, 1)
    smtp_server.stop()  # connection refused, every time
    start = utcnow()
    now = start
    waits = []

    with smtp_app.app_context():
        for _ in range(100):
            drain(clock=lambda moment=now: moment)
            row = one(smtp_app, message)
            if row.status == "dead":
                break
            assert row.failing_since == start
            assert now - start < GIVE_UP_AFTER  # not given up early
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at

    row = one(smtp_app, message)
    assert row.status == "dead"
    assert now - start >= GIVE_UP_AFTER  # given up at the first failure after 24 hours
    assert now - start < GIVE_UP_AFTER + timedelta(hours=1)
    assert row.attempts == len(waits) + 1
    assert row.last_error.startswith("ConnectionRefusedError")
    assert waits[0] < timedelta(seconds=60)
    assert max(waits) <= timedelta(hours=1)
    seconds = [w.total_seconds() for w in waits]
    for earlier, later in zip(seconds[:7], seconds[1:8], strict=True):
        assert 1.4 < later / earlier < 2.7  # about doubling, jitter aside
    assert all(s >= 2700 for s in seconds[8:])  # then about an hour each


def test_a_message_queued_while_the_worker_was_down_for_a_day_is_not_dead_at_its_first_failure(
    smtp_app, smtp_server
):
    (message,) = add_messages(smtp_app, 1, created_at=utcnow() - timedelta(days=2))
    smtp_server.stop()
    with smtp_app.app_context():
        drain()
    row = one(smtp_app, message)
    assert (row.status, row.attempts) == ("pending", 1)


def test_requeue_puts_a_dead_message_back_for_a_fresh_run_and_audits_it(app, make_user):
    admin = make_user(role="admin")
    (message,) = add_messages(app, 1, status="dead", attempts=7, last_error="550 no such user",
                              failing_since=utcnow() - timedelta(hours=30))
    now = utcnow()

    with app.app_context():
        requeue_message(message, actor=admin, ip_address="192.0.2.7", clock=lambda: now)

    row = one(app, message)
    assert (row.status, row.attempts, row.failing_since) == ("pending", 0, None)
    assert row.next_attempt_at == now
    assert row.last_error == "550 no such user"  # kept, for reference
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.action.like("outbox.%"))).one()
        assert (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.ip_address) == (
            "outbox.requeued", admin, "outbox_message", str(message), "192.0.2.7")


@pytest.mark.parametrize("status", ["pending", "sent"])
def test_only_a_dead_message_can_be_requeued(app, make_user, status):
    admin = make_user(role="admin")
    (message,) = add_messages(app, 1, status=status, attempts=1)
    with app.app_context(), pytest.raises(NotRequeueable):
        requeue_message(message, actor=admin)
    assert one(app, message).status == status
    with app.app_context():
        assert db.session.scalars(sa.select(AuditLog).where(AuditLog.action.like("outbox.%"))).all() == []


def test_requeueing_a_message_that_does_not_exist_raises_lookup_error(app, make_user):
    admin = make_user(role="admin")
    with app.app_context(), pytest.raises(LookupError):
        requeue_message(999_999, actor=admin)
