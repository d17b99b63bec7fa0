"""Sent messages past the retention period are deleted: their bodies hold personal data."""

from datetime import timedelta

from crm.core.db import utcnow
from crm.notifications.services import purge_sent_messages
from crm.notifications.worker import Worker
from tests.notifications.helpers import add_messages, outbox


def _mixed_outbox(app):
    now = utcnow()
    old = now - timedelta(days=31)
    expired = add_messages(app, 3, status="sent", sent_at=old, created_at=old)
    return {
        "expired": expired,
        "recent": add_messages(app, 1, status="sent", sent_at=now - timedelta(days=29)),
        # Not sent: never purged, however old, since nobody has been told yet.
        "old_pending": add_messages(app, 1, created_at=old),
        "old_dead": add_messages(app, 1, status="dead", created_at=old),
    }


def test_purge_deletes_only_sent_messages_past_retention_and_is_safe_to_run_twice(app):
    rows = _mixed_outbox(app)
    assert app.config["CRM_OUTBOX_RETENTION_DAYS"] == 30

    with app.app_context():
        assert purge_sent_messages(chunk=2) == 3  # in chunks smaller than the backlog
        assert purge_sent_messages() == 0

    left = {r.id for r in outbox(app)}
    assert left == set(rows["recent"] + rows["old_pending"] + rows["old_dead"])


def test_purge_command_uses_the_configured_retention_or_days(make_app):
    app = make_app(CRM_OUTBOX_RETENTION_DAYS=40)
    rows = _mixed_outbox(app)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["crm", "outbox", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Deleted 0 sent messages."

    result = runner.invoke(args=["crm", "outbox", "purge", "--days", "28"])
    assert result.output.strip() == "Deleted 4 sent messages."
    assert {r.id for r in outbox(app)} == set(rows["old_pending"] + rows["old_dead"])

    result = runner.invoke(args=["crm", "outbox", "purge", "--days", "-1"])
    assert result.exit_code == 2  # refused, nothing deleted
    assert len(outbox(app)) == 2


def test_the_long_running_worker_purges_when_it_starts(app):
    rows = _mixed_outbox(app)
    with app.app_context():
        worker = Worker()
        worker._sleep = worker.stop  # one round, then stop
        worker.run()
    assert not set(rows["expired"]) & {r.id for r in outbox(app)}
    assert len(outbox(app)) == 3


def test_cancelled_messages_are_purged_like_sent_ones_counted_from_when_they_were_queued(app):
    now = utcnow()
    old = add_messages(app, 2, status="cancelled", created_at=now - timedelta(days=31))
    recent = add_messages(app, 1, status="cancelled", created_at=now - timedelta(days=29))
    with app.app_context():
        assert purge_sent_messages() == 2
    assert {r.id for r in outbox(app)} == set(recent)
    assert not set(old) & {r.id for r in outbox(app)}
