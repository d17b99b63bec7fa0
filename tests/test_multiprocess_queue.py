"""The intake queue (CRM_INTAKE_QUEUE) across real processes: gunicorn answers, separate worker
processes store and send. Its own module: the rush of test_multiprocess holds its managers and
enquiries until that module ends."""

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from crm.core.models import Enquiry, OutboxMessage
from crm.enquiries.models import PendingIntake
from crm.extensions import db
from tests.conftest import empty_database, free_port
from tests.notifications.test_processes import WorkerProcess, wait_until
from tests.processes import AppServer
from tests.smtp import SMTPServer
from tests.test_multiprocess import app_with_managers, submit

pytestmark = pytest.mark.slow

QUEUED = int(os.environ.get("CRM_TEST_QUEUED_SUBMISSIONS", "400"))


def test_with_the_intake_queue_a_rush_is_stored_once_each_and_acknowledged_once(database_url, tmp_path):
    """CRM_INTAKE_QUEUE across processes: gunicorn answers, separate worker processes store and
    send. SQLite: one instance (two gunicorn workers) and one worker, the queue in its own file;
    PostgreSQL: two instances and two workers sharing the queue (SKIP LOCKED)."""
    sqlite = database_url.startswith("sqlite")
    app = app_with_managers(database_url)
    smtp = SMTPServer(free_port())
    smtp.start()
    settings = dict(CRM_INTAKE_QUEUE=1, CRM_PUBLIC_RATE_LIMIT="100000 per minute",
                    CRM_OUTBOX_POLL_SECONDS=0.5)
    instances = 1 if sqlite else 2
    servers = [AppServer(database_url, tmp_path, workers=2, **settings) for _ in range(instances)]
    workers = [WorkerProcess(database_url, smtp.port, tmp_path, **settings) for _ in range(instances)]
    try:
        for server in servers:
            server.wait_until_up()
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(lambda n: submit(servers[n % instances].url, n), range(QUEUED)))
        assert Counter(status for status, _ in answers) == {201: QUEUED}
        references = {reference for _, reference in answers}

        def all_delivered():
            with app.app_context():
                left = db.session.scalar(sa.select(sa.func.count()).select_from(PendingIntake))
                unsent = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.status != "sent"))
                db.session.rollback()
            return left == 0 and unsent == 0 and len(smtp.messages) >= 2 * QUEUED
        wait_until(all_delivered, 90, "the queue was not stored and delivered within 90 seconds")
        time.sleep(1)  # a duplicate, were there one, would arrive now
        for process in [*workers, *servers]:
            process.stop()
        for worker in workers:
            assert worker.process.returncode == 0, worker.output()
            assert "not stored" not in worker.output(), worker.output()
        with app.app_context():
            assert set(db.session.scalars(sa.select(Enquiry.reference))) == references
            assert db.session.scalar(sa.select(sa.func.count()).where(Enquiry.assignee_id.is_(None))) == 0
        acknowledgements = Counter(m["to"][0] for m in smtp.messages if m["to"][0].startswith("prospect"))
        assert acknowledgements == {f"prospect{n}@example.com": 1 for n in range(QUEUED)}
        assert max(Counter(m["message"]["Message-ID"] for m in smtp.messages).values()) == 1
    finally:
        for process in [*workers, *servers]:
            process.stop()
        smtp.stop()
        empty_database(app)
