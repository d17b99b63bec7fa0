"""Time the staff pages at 1k, 100k and 1M enquiries on SQLite and PostgreSQL (run by hand).

    .venv/bin/python bench/staff_pages.py                       # every size, both databases
    .venv/bin/python bench/staff_pages.py --sizes 1000 100000 --databases sqlite --requests 20
    .venv/bin/python bench/staff_pages.py --workdir /tmp/crm-bench --reuse   # keep/reuse seeded data

For each database and size it migrates a fresh database, seeds it with `seed_demo` (fixed
random seed), logs in an admin and a manager through the real login form, and requests every
page through the Flask test client (in-process: no network, no gunicorn): `--requests` timed
requests after two untimed ones. It prints a Markdown table of the median and 95th percentile in
milliseconds and each 1M/1k ratio. Results go in docs/performance.md.
"""

import argparse
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from config import DevelopmentConfig  # noqa: E402
from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")
POSTGRES = os.environ.get("CRM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "bench password, not a secret"  # noqa: S105


def pages(sample):
    """(label, viewer, path) for every page timed; `sample` holds real values from the data."""
    inbox = "/staff/enquiries"
    rows = [
        ("inbox page 1", "admin", inbox),
        ("inbox page 20", "admin", f"{inbox}?page=20"),
        # Page 20 of the open ones is empty at 1,000 (fewer than 500 are open); of every status
        # it lists 25 rows at each size.
        ("inbox page 20 of every status", "admin", f"{inbox}?status=all&page=20"),
        ("inbox, manager, page 1", "manager", inbox),
        ("inbox status=open", "admin", f"{inbox}?status=open"),
        ("inbox status=won", "admin", f"{inbox}?status=won"),
        ("inbox assignee=me (manager)", "manager", f"{inbox}?assignee=me"),
        ("inbox assignee=unassigned", "admin", f"{inbox}?assignee=unassigned"),
        ("inbox sector=robotics", "admin", f"{inbox}?sector=robotics"),
        ("inbox topic=talent", "admin", f"{inbox}?topic=talent"),
        ("inbox priority=high", "admin", f"{inbox}?priority=high"),
        ("inbox overdue=1", "admin", f"{inbox}?overdue=1"),
        ("inbox sort=follow_up", "admin", f"{inbox}?sort=follow_up"),
        ("inbox sort=activity", "admin", f"{inbox}?sort=activity"),
        ("inbox sort=response_due", "admin", f"{inbox}?sort=response_due"),
        # Searches look in every status (the inbox opens on the open ones, and the sample
        # enquiry is years old): each finds at least the sample's own row at every size.
        ("search surname", "admin", f"{inbox}?status=all&q=Jensen"),
        # These two fill a page at every size; the others find a handful at 1,000 and a full
        # page at 1,000,000 (the rows in brackets say how many each page listed).
        ("search common word in names", "admin", f"{inbox}?status=all&q=sen"),
        ("search common word in companies", "admin", f"{inbox}?status=all&q=Pharma"),
        ("search full name", "admin", f"{inbox}?status=all&q={sample['name']}"),
        ("search email (complete)", "admin", f"{inbox}?status=all&q={sample['email']}"),
        ("search email (part)", "admin", f"{inbox}?status=all&q={sample['email'].split('@')[0]}"),
        ("search company", "admin", f"{inbox}?status=all&q={sample['company']}"),
        ("search reference", "admin", f"{inbox}?status=all&q={sample['reference']}"),
        ("enquiry page", "admin", f"/staff/enquiries/{sample['reference']}"),
        ("dashboard (admin)", "admin", "/staff/dashboard"),
        ("dashboard (manager)", "manager", "/staff/dashboard"),
        ("report (HTML)", "admin", "/staff/reports/pipeline"),
        ("report (CSV)", "admin", "/staff/reports/pipeline.csv"),
    ]
    return rows


def database_url(kind, size, workdir):
    if kind == "sqlite":
        return f"sqlite:///{workdir}/bench-{size}.sqlite3"
    return f"{POSTGRES}/crm_bench_{size}"


def fresh_database(kind, size, workdir, reuse):
    """Create the database; returns True when it must be seeded."""
    if kind == "sqlite":
        path = Path(workdir) / f"bench-{size}.sqlite3"
        if reuse and path.exists():
            return False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"crm_bench_{size}",)).fetchone()
        if reuse and exists:
            return False
        conn.execute(f"DROP DATABASE IF EXISTS crm_bench_{size} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE crm_bench_{size}")
    return True


def make_app(url, workdir):
    config = type("BenchConfig", (DevelopmentConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-only", "CRM_LOGIN_RATE_LIMIT": "1000 per minute",
    })
    os.environ["CRM_INSTANCE_PATH"] = str(workdir)
    return create_app(config)


def prepare(app, size, seed):
    from crm.enquiries.models import Contact, Enquiry
    from crm.enquiries.seed import seed_demo
    from crm.staff.models import User
    from crm.staff.passwords import hash_password

    with app.app_context():
        upgrade(directory=MIGRATIONS)
        if seed:
            started = time.perf_counter()
            seed_demo(size, seed=1)
            print(f"  seeded {size} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        users = {}
        for role in ("admin", "manager"):
            user = db.session.scalar(sa.select(User).where(User.role == role).order_by(User.id))
            user.password_hash = hash_password(PASSWORD)
            users[role] = user.email
        db.session.commit()
        middle = db.session.scalar(sa.select(sa.func.max(Enquiry.id))) // 2
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.id >= middle).order_by(Enquiry.id))
        contact = db.session.get(Contact, enquiry.contact_id)
        sample = {"reference": enquiry.reference, "name": contact.name, "email": contact.email,
                  "company": contact.company}
        db.session.remove()
    return users, sample


def logged_in(app, email):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.status_code
    return client


SLOW = ("dashboard", "report")  # whole-period aggregates: fewer requests each


ROW_LINK = re.compile(r'href="/staff/enquiries/(AAL-[0-9A-Z-]+)"')
INBOX = re.compile(r"/staff/enquiries(\?|$)")


def timed_get(client, path):
    """(status, milliseconds, enquiry rows the page lists)."""
    started = time.perf_counter()
    response = client.get(path)
    body = response.get_data()
    ms = (time.perf_counter() - started) * 1000
    rows = len(set(ROW_LINK.findall(body.decode()))) if INBOX.match(path) else None
    return response.status_code, ms, rows


def summary(times):
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, math.ceil(len(times) * 0.95) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--slow-requests", type=int, default=5, help="for the dashboard and the report")
    parser.add_argument("--workdir", default="/tmp/crm-bench")  # noqa: S108 (bench data, by hand)
    parser.add_argument("--reuse", action="store_true", help="reuse a database seeded by an earlier run")
    parser.add_argument("--only", default="", help="time only the pages whose label contains this "
                                                   "(several: comma-separated)")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    for kind in args.databases:
        # Every size is set up first, then each page is requested from the sizes in turn, so
        # that a busy moment on a shared machine weighs on every size alike.
        setups = {}
        for size in args.sizes:
            print(f"{kind} {size}", file=sys.stderr)
            seed = fresh_database(kind, size, args.workdir, args.reuse)
            app = make_app(database_url(kind, size, args.workdir), args.workdir)
            users, sample = prepare(app, size, seed)
            setups[size] = (app, {role: logged_in(app, email) for role, email in users.items()}, pages(sample))
        print(f"\n**{kind}**, milliseconds (median / p95)\n")
        print("| page | " + " | ".join(f"{s:,}" for s in args.sizes) + " | largest ÷ smallest (median) |")
        print("| --- |" + " --- |" * (len(args.sizes) + 1))
        for index, (label, _, _) in enumerate(setups[args.sizes[0]][2]):
            if not any(part in label for part in args.only.split(",")):
                continue
            count = args.slow_requests if label.startswith(SLOW) else args.requests
            times, statuses, shown = {size: [] for size in args.sizes}, {}, {}
            for round_ in range(count + 1):  # the first round warms up, untimed
                for size in args.sizes:
                    _, clients, rows = setups[size]
                    _, role, path = rows[index]
                    status, ms, shown[size] = timed_get(clients[role], path)
                    statuses[size] = status
                    if round_:
                        times[size].append(ms)
            cells, medians = [], []
            for size in args.sizes:
                median, p95 = summary(times[size])
                rows = "" if shown[size] is None else f" ({shown[size]} rows)"
                cells.append(f"{median:.1f} / {p95:.1f}{rows}" if statuses[size] == 200 else f"({statuses[size]})")
                medians.append(median if statuses[size] == 200 else None)
            ratio = f"{medians[-1] / medians[0]:.2f}×" if medians[0] and medians[-1] and len(medians) > 1 else ""
            print(f"| {label} ({count}) | " + " | ".join(cells) + f" | {ratio} |", flush=True)
        for app, _, _ in setups.values():
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
