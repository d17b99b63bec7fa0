"""Outbox drain benchmark: how many messages per second `flask crm worker --once` delivers.

Run by hand from the project root (not part of the test suite):

    .venv/bin/python bench/outbox_drain.py [--messages 10000] [--workers 1 2]

For SQLite (a fresh file) and, when it answers, PostgreSQL (a fresh database created through
CRM_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres, dropped at the
end), it queues N realistic messages in bulk, starts an aiosmtpd sink on a free 127.0.0.1 port
(it accepts and counts, nothing more), runs 1 and then 2 worker processes, and prints two rates:
wall clock from starting the processes to their exit (process start-up included), and delivery
(first to last sent_at in the database).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import TestingConfig  # noqa: E402
from crm import create_app  # noqa: E402
from crm.core.db import utcnow  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.notifications.models import OutboxMessage  # noqa: E402
from crm.notifications.services import render_email  # noqa: E402

POSTGRES_URL = os.environ.get("CRM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class CountingSink:
    """Accepts every message and counts it; no parsing, so that the sink is not what we measure."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_app(url):
    return create_app(type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url}))


def build_schema(url):
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
        db.engine.dispose()


def queue_messages(url, n):
    """N rendered acknowledgement emails, each with its own Message-ID and recipient."""
    app = make_app(url)
    with app.test_request_context():
        db.session.execute(sa.delete(OutboxMessage))
        now = utcnow()
        rows = []
        rendered = {}  # each language rendered once; messages differ in reference and address
        for i in range(n):
            language = "da" if i % 3 == 0 else "en"
            if language not in rendered:
                rendered[language] = render_email(
                    "enquiries/received", language, name="Ada Jensen", reference="REF-XXXX",
                    sector="medtech", topic="establishment", privacy_url="http://127.0.0.1:5000/privacy",
                )
            subject, text, html = rendered[language]
            reference = f"BENCH-{i:06d}"
            rows.append({
                "message_id": f"<{uuid.uuid4().hex}@bench.invalid>", "kind": "enquiry_received",
                "recipient": f"prospect{i}@example.com", "subject": subject.replace("REF-XXXX", reference),
                "text": text.replace("REF-XXXX", reference), "html": html.replace("REF-XXXX", reference),
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            })
        for start in range(0, n, 2000):
            db.session.execute(sa.insert(OutboxMessage), rows[start:start + 2000])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def sent_span(url):
    app = make_app(url)
    with app.app_context():
        first, last, sent = db.session.execute(
            sa.select(sa.func.min(OutboxMessage.sent_at), sa.func.max(OutboxMessage.sent_at),
                      sa.func.count()).where(OutboxMessage.status == "sent")
        ).one()
        db.session.remove()
        db.engine.dispose()
    if isinstance(first, str):  # SQLite's min()/max() bypass the column type
        from datetime import datetime
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return sent, (last - first) if sent else timedelta(0)


def run_workers(url, port, count, instance):
    env = {**os.environ, "CRM_ENV": "development", "CRM_INSTANCE_PATH": str(instance),
           "SECRET_KEY": "bench-only", "DATABASE_URL": url, "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(port)}
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "crm", "worker", "--once"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(count)
    ]
    outputs = [p.communicate()[0].strip() for p in processes]
    elapsed = time.perf_counter() - started
    if any(p.returncode for p in processes):
        raise SystemExit(f"a worker failed: {outputs}")
    return elapsed, outputs


def bench(label, url, n, worker_counts, instance):
    print(f"\n{label}: {n} messages")
    build_schema(url)
    for count in worker_counts:
        queue_messages(url, n)
        sink = CountingSink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            elapsed, outputs = run_workers(url, port, count, instance)
        finally:
            controller.stop()
        sent, span = sent_span(url)
        if sent != n or sink.count != n:
            raise SystemExit(f"expected {n} deliveries, the sink got {sink.count}, {sent} rows sent")
        span_s = span.total_seconds()
        print(f"  {count} worker(s): {elapsed:6.2f} s wall, {n / elapsed:7.0f} msg/s wall "
              f"(start-up included); delivery {span_s:6.2f} s, {n / span_s:7.0f} msg/s  {outputs}")


def postgres_database():
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        print(f"\nPostgreSQL skipped: {error}".strip())
        return None, None
    name = f"crm_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    return admin, name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    try:
        bench("SQLite", f"sqlite:///{tmp / 'bench.sqlite3'}", args.messages, args.workers, tmp / "instance")
        admin, name = postgres_database()
        if admin:
            try:
                url = re.sub(r"/[^/]*$", f"/{name}", POSTGRES_URL)
                bench("PostgreSQL", url, args.messages, args.workers, tmp / "instance")
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
