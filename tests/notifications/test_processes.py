"""`flask crm worker` as real processes against a real SMTP server: killed, stopped, doubled."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from crm.core.db import utcnow
from tests.notifications.helpers import add_messages, outbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


class WorkerProcess:
    """One `flask crm worker` process, its output in files (a full pipe would block it)."""

    def __init__(self, database_url, smtp_port, tmp_path, *args, **settings):
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            # Development reads DATABASE_URL and MAIL_* from the environment; testing does not.
            "CRM_ENV": "development",
            "CRM_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "worker-test-only",
            "DATABASE_URL": database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            **{name: str(value) for name, value in settings.items()},
        }
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "worker", *args],
                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def output(self):
        return self.log.read_text()

    def wait_for_output(self, text, timeout=20):
        wait_until(lambda: text in self.output(), timeout, f"worker never said {text!r}")

    def wait(self, timeout=30):
        return self.process.wait(timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(predicate, timeout, message="timed out"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def all_sent(app):
    return all(row.status == "sent" for row in outbox(app))


@pytest.fixture
def workers(database_url, smtp_server, tmp_path):
    """start(*args, **settings) → a WorkerProcess; every one is stopped at the end."""
    started = []

    def start(*args, **settings):
        worker = WorkerProcess(database_url, smtp_server.port, tmp_path, *args, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_once_drains_the_outbox_and_exits(smtp_app, smtp_server, workers):
    ids = add_messages(smtp_app, 30)
    worker = workers("--once")
    assert worker.wait() == 0, worker.output()
    assert "Handled 30 messages." in worker.output()
    assert [r.status for r in outbox(smtp_app, *ids)] == ["sent"] * 30
    assert sorted(m["message"]["Message-ID"] for m in smtp_server.messages) == sorted(
        r.message_id for r in outbox(smtp_app))


def test_worker_picks_up_new_mail_within_5_seconds_and_sigterm_finishes_the_current_message(
    smtp_app, smtp_server, workers
):
    worker = workers()  # the default poll interval
    worker.wait_for_output("outbox worker started")

    queued_at = time.monotonic()
    add_messages(smtp_app, 1)
    wait_until(lambda: len(smtp_server.messages) == 1, 10, "the new message was never sent")
    assert time.monotonic() - queued_at < 5

    smtp_server.slow_down(1.5)
    smtp_server.handler.data_started.clear()
    later = add_messages(smtp_app, 5)
    assert smtp_server.handler.data_started.wait(10)
    worker.process.send_signal(signal.SIGTERM)  # while the server takes its time over DATA
    assert worker.wait(15) == 0, worker.output()

    rows = outbox(smtp_app, *later)
    assert len(smtp_server.messages) == 2  # the one in flight was finished
    assert [r.status for r in rows] == ["sent", "pending", "pending", "pending", "pending"]
    assert all(r.claimed_by is None and r.attempts == 0 for r in rows[1:])  # released, untouched
    assert "outbox worker stopped" in worker.output()


def test_a_worker_killed_after_claiming_loses_nothing_and_another_sends_all_after_the_lease(
    smtp_app, smtp_server, workers
):
    lease = 4
    ids = add_messages(smtp_app, 20)
    smtp_server.slow_down(3)  # the first worker is stuck in its first DATA when it dies
    first = workers(CRM_OUTBOX_LEASE_SECONDS=lease)
    assert smtp_server.handler.data_started.wait(20), first.output()

    claimed = outbox(smtp_app, *ids)
    assert len({r.claimed_by for r in claimed}) == 1 and claimed[0].claimed_by is not None
    lease_ends = claimed[0].claimed_until
    first.process.kill()
    assert first.wait() == -signal.SIGKILL
    killed_at = utcnow()
    smtp_server.slow_down(0)

    second = workers(CRM_OUTBOX_LEASE_SECONDS=lease, CRM_OUTBOX_POLL_SECONDS=0.5)
    wait_until(lambda: all_sent(smtp_app), 30, "the killed worker's messages were never sent")
    second.stop()
    assert second.process.returncode == 0, second.output()

    rows = outbox(smtp_app, *ids)
    assert all(r.sent_at >= lease_ends for r in rows)  # nobody took them before the lease ended
    assert max(r.sent_at for r in rows) - killed_at < timedelta(seconds=60)
    delivered = Counter(m["message"]["Message-ID"] for m in smtp_server.messages)
    assert set(delivered) == {r.message_id for r in rows}  # every message, under its own ID
    by_id = {r.message_id: r for r in rows}
    for message in smtp_server.messages:  # a duplicate, if any, is the same message
        row = by_id[message["message"]["Message-ID"]]
        assert (message["to"], message["message"]["Subject"]) == ([row.recipient], row.subject)


def test_two_workers_on_postgresql_deliver_1000_messages_exactly_once(
    database_url, smtp_app, smtp_server, workers
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL's SKIP LOCKED; on SQLite one worker runs")
    # Both workers are up and polling before the mail arrives, so that they really compete; small
    # batches mean many claims, so that claims racing each other really happen (a claim without
    # its guards fails this test).
    pair = [workers(CRM_OUTBOX_BATCH_SIZE=5, CRM_OUTBOX_POLL_SECONDS=0.2) for _ in range(2)]
    for worker in pair:
        worker.wait_for_output("outbox worker started")
    add_messages(smtp_app, 1000)

    wait_until(lambda: len(smtp_server.messages) >= 1000 and all_sent(smtp_app), 60,
               "the 1,000 messages were not all sent")
    for worker in pair:
        worker.stop()
        assert worker.process.returncode == 0, worker.output()

    handled = [int(w.output().split("stopped after handling ")[1].split()[0]) for w in pair]
    assert sum(handled) == 1000 and min(handled) > 0, handled  # both worked, no row twice
    # One SMTP connection per claimed batch, and no claim larger than the batch size.
    assert max(Counter(m["peer"] for m in smtp_server.messages).values()) <= 5
    delivered = Counter(m["message"]["Message-ID"] for m in smtp_server.messages)
    assert len(smtp_server.messages) == 1000
    assert set(delivered) == {r.message_id for r in outbox(smtp_app)}
    assert {(r.status, r.attempts) for r in outbox(smtp_app)} == {("sent", 1)}
