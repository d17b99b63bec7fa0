"""Intake queue drain benchmark: how fast `flask crm worker --once` stores queued enquiries.

Run by hand from the project root (not part of the test suite):

    .venv/bin/python bench/intake_drain.py [sqlite|postgresql] [--rows 5000] [--workers 1 2]
    .venv/bin/python bench/intake_drain.py postgresql --rows 2000 --profile   # pyinstrument, in-process

A fresh database (a temporary SQLite file, or a new PostgreSQL database at 127.0.0.1:5432,
dropped at the end), migrated, with an admin and three managers; N valid rows put straight into
`intake` (as the fast path would); then 1, 2, ... worker processes (production configuration,
mail to the log) run until the queue is empty. Prints the wall clock (process start-up
included), stored enquiries per second, and checks that every row became exactly one assigned
enquiry, balanced across the managers.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import scratch_database  # bench/, beside this script
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("database", choices=["sqlite", "postgresql"])
parser.add_argument("--rows", type=int, default=5000)
parser.add_argument("--workers", type=int, nargs="+", default=[1])
parser.add_argument("--profile", action="store_true", help="drain once in this process under pyinstrument")
args = parser.parse_args()

scratch = scratch_database.create(args.database, "drain")
os.environ["FLASK_APP"] = "wsgi"

from flask_migrate import upgrade  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.db import utcnow  # noqa: E402
from crm.enquiries.models import PendingIntake  # noqa: E402
from crm.enquiries.policy import current_policy  # noqa: E402
from crm.enquiries.references import new_reference  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.staff.services import create_user  # noqa: E402

app = create_app()


def queue(n, round_):
    version = current_policy().version
    now = utcnow()
    rows = [{
        "reference": new_reference(), "name": "Bench Prospect", "email": f"p{round_}.{i}@example.com",
        "company": "Nordic Implants ApS", "phone": "", "country": "DK", "sector": "medtech",
        "topic": "establishment", "message": "We plan a European R&D site and would like to visit Aalborg.",
        "language": "en", "policy_version": version, "policy_language": "en", "ip_address": "127.0.0.1",
        "user_agent": "bench", "received_at": now - timedelta(seconds=1), "attempts": 0,
        "next_attempt_at": now - timedelta(seconds=1),
    } for i in range(n)]
    for start in range(0, n, 2000):
        db.session.execute(sa.insert(PendingIntake), rows[start:start + 2000])
    db.session.commit()


def figures():
    count = lambda sql: db.session.scalar(sa.text(sql))  # noqa: E731
    per_manager = db.session.scalars(sa.text(
        "SELECT count(*) FROM enquiries GROUP BY assignee_id ORDER BY assignee_id")).all()
    return (count("SELECT count(*) FROM enquiries"), count("SELECT count(DISTINCT reference) FROM enquiries"),
            count("SELECT count(*) FROM enquiries WHERE assignee_id IS NULL"),
            count("SELECT count(*) FROM intake"), per_manager)


try:
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        create_user(email="admin@bench.example", name="Admin", role="admin", password="x" * 16)
        for n in range(3):
            create_user(email=f"m{n}@bench.example", name=f"M{n}", role="manager", password="x" * 16)
    print(f"== {args.database}: {args.rows} queued rows; load {os.getloadavg()[0]:.2f}")
    stored_before = 0
    for round_, workers in enumerate([1] if args.profile else args.workers):
        with app.app_context():
            queue(args.rows, round_)
            db.session.remove()
        if args.profile:
            from pyinstrument import Profiler

            from crm.notifications.worker import Worker

            profiler = Profiler(interval=0.001)
            app.logger.setLevel("WARNING")  # mail goes to the log: one line per message
            with app.app_context():
                started = time.perf_counter()
                with profiler:
                    Worker(once=True).run()
                elapsed = time.perf_counter() - started
            print(profiler.output_text(unicode=True, color=False))
        else:
            started = time.perf_counter()
            processes = [subprocess.Popen([str(ROOT / ".venv/bin/flask"), "crm", "worker", "--once"], cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for _ in range(workers)]
            codes = [p.wait() for p in processes]
            elapsed = time.perf_counter() - started
            if any(codes):
                raise SystemExit(f"a worker failed: exit codes {codes}")
        with app.app_context():
            enquiries, distinct, unassigned, left, per_manager = figures()
            db.session.remove()
        stored = enquiries - stored_before
        stored_before = enquiries
        ok = stored == args.rows and distinct == enquiries and not unassigned and not left
        print(f"{workers} worker(s): {stored} stored in {elapsed:.1f} s: {stored / elapsed:.1f} enquiries/s "
              f"(start-up included); per manager {'/'.join(map(str, per_manager))}; {left} left: "
              f"{'OK' if ok else 'MISMATCH'}")
finally:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    scratch.drop()
