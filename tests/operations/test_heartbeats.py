"""A running outbox worker records heartbeats in the database; a clean stop removes its row."""

import signal

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.notifications.models import WorkerHeartbeat
from tests.notifications.test_processes import WorkerProcess, wait_until

pytestmark = pytest.mark.slow


def all_rows(app, model):
    with app.app_context():
        rows = db.session.scalars(sa.select(model)).all()
        db.session.expunge_all()
        return rows


def test_a_running_worker_beats_and_a_stopped_one_is_forgotten(database_url, app, smtp_server, tmp_path):
    worker = WorkerProcess(database_url, smtp_server.port, tmp_path, CRM_OUTBOX_POLL_SECONDS=0.2)
    try:
        worker.wait_for_output("outbox worker started")
        wait_until(lambda: len(all_rows(app, WorkerHeartbeat)) == 1, 20, "no heartbeat recorded")
        (beat,) = all_rows(app, WorkerHeartbeat)
        assert beat.worker.endswith(f":{worker.process.pid}")
        first_seen = beat.seen_at
        wait_until(lambda: all_rows(app, WorkerHeartbeat)[0].seen_at > first_seen, 20,
                   "the heartbeat was not renewed")
        worker.process.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop, like SIGTERM
        assert worker.wait(15) == 0, worker.output()
    finally:
        worker.stop()
    assert all_rows(app, WorkerHeartbeat) == []
    assert "Traceback" not in worker.output()
