"""Profile the submission path in one process: POST /api/v1/enquiries through the test client.

    .venv/bin/python bench/profile_intake.py sqlite [--requests 500]
    .venv/bin/python bench/profile_intake.py postgresql [--html out.html]

Production configuration against a freshly migrated database (a temporary SQLite file, or a
new PostgreSQL database at 127.0.0.1:5432, dropped afterwards), an admin and three managers,
then pyinstrument over the requests. Prints ms per request and the call tree.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import scratch_database  # bench/, beside this script

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

parser = argparse.ArgumentParser()
parser.add_argument("database", choices=["sqlite", "postgresql"])
parser.add_argument("--requests", type=int, default=500)
parser.add_argument("--html")
parser.add_argument("--flat", action="store_true")
parser.add_argument("--cpu-only", action="store_true",
                    help="only the CPU figures (submission, refused request, GET /healthz), no profile")
parser.add_argument("--what", choices=["submission", "refused", "healthz"], default="submission",
                    help="the request to profile: a submission, one refused at validation, GET /healthz")
parser.add_argument("--rounds", type=int, default=1, help="repeat the CPU figures this many times")
args = parser.parse_args()

scratch = scratch_database.create(args.database, "profile")
os.environ.update(CRM_PUBLIC_RATE_LIMIT="1000000 per minute", CRM_FORM_MIN_SECONDS="0")

from flask_migrate import upgrade  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.staff.services import create_user  # noqa: E402

app = create_app()
try:
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
        create_user(email="admin@bench.example", name="Admin", role="admin", password="x" * 16)
        for n in range(3):
            create_user(email=f"m{n}@bench.example", name=f"M{n}", role="manager", password="x" * 16)
    client = app.test_client()

    def post(n):
        body = {"name": "Bench Prospect", "email": f"p{n}@example.com", "company": "Nordic Implants ApS",
                "country": "DK", "sector": "medtech", "topic": "establishment",
                "message": "We plan a European R&D site.", "consent": True,
                "policy_version": "2026-01", "language": "en"}
        response = client.post("/api/v1/enquiries", json=body)
        assert response.status_code == 201, response.get_data(as_text=True)

    for n in range(50):  # warm up: templates compiled, statements cached, pool filled
        post(-n - 1)
    # Round trips per submission: statements through SQLAlchemy, plus BEGIN and COMMIT that the
    # driver sends on its own (PostgreSQL), plus a pre-ping per checkout when it is on.
    import sqlalchemy as sa

    statements = []
    recording = [True]
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, *args):
        if recording[0]:
            statements.append(" ".join(statement.split()[:3]))

    post(-1000)
    recording[0] = False
    print(f"statements per submission: {len(statements)}: {'; '.join(statements)}")

    # CPU time of this process per submission, without the profiler: on a busy machine a
    # steadier figure than the wall clock (PostgreSQL's own CPU is not in it).
    def refused():
        response = client.post("/api/v1/enquiries", json={"name": "Bench Prospect", "consent": False})
        assert response.status_code == 422

    def healthz():
        assert client.get("/healthz").status_code == 200

    def cpu_of(what, label, offset=0, app_name="crm"):
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(args.requests):
            what(offset + n) if label == "submission" else what()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{args.database}: {app_name}: {label}: {1000 * cpu / args.requests:.2f} ms CPU, "
              f"{1000 * wall / args.requests:.2f} ms wall per request ({args.requests} requests, "
              "one process, no profiler)")

    # The yardstick in the same process: bench/minimal_app.py through its own test client.
    os.environ["MINIMAL_DATABASE_URL"] = (os.environ["DATABASE_URL"] if args.database == "postgresql"
                                          else f"sqlite:///{scratch.work}/minimal.sqlite3")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import minimal_app  # noqa: E402

    minimal_client = minimal_app.app.test_client()

    def minimal(n):
        body = {"name": "Bench Prospect", "email": f"p{n}@example.com", "company": "Nordic Implants ApS",
                "country": "DK", "sector": "medtech", "topic": "establishment",
                "message": "We plan a European R&D site.", "consent": True,
                "policy_version": "2026-01", "language": "en"}
        assert minimal_client.post("/api/v1/enquiries", json=body).status_code == 201

    for r in range(args.rounds):
        cpu_of(post, "submission", 100_000 + r * args.requests)
        cpu_of(refused, "refused at validation (422)")
        cpu_of(healthz, "GET /healthz")
        cpu_of(minimal, "submission", 200_000 + r * args.requests, app_name="minimal app")
    if args.cpu_only:
        sys.exit(0)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for n in range(args.requests):
            post(n) if args.what == "submission" else refused() if args.what == "refused" else healthz()
    # --flat: self time per function, the clearest view of where the CPU goes.
    print(profiler.output_text(unicode=True, color=False, flat=args.flat))
    if args.html:
        Path(args.html).write_text(profiler.output_html())
finally:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    scratch.drop()
