"""The manager's day at scale: inbox views, the enquiry page and the CSV export.

Run by hand from the project root (not part of the test suite):

    .venv/bin/python bench/manager_day.py [--enquiries 200000] [--repeat 5]

Seeds a fresh SQLite file (in a temporary folder) with `seed_demo`, logs in through the real
form as a demo manager and as the admin, and prints the median time of each page over
`--repeat` requests, and the time and peak memory (RSS growth) of a full CSV export.
"""

import argparse
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOLDER = tempfile.mkdtemp(prefix="crm-bench-")
os.environ["CRM_INSTANCE_PATH"] = FOLDER  # before config is imported: demo logins go there

from config import TestingConfig  # noqa: E402
from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402


def login(client, email, password):
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": email, "password": password, "csrf_token": token}).status_code == 303


def timed(client, url, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--enquiries", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = f"sqlite:///{FOLDER}/crm.sqlite3"
    config = type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        from crm.enquiries.models import Enquiry
        from crm.enquiries.seed import seed_demo

        upgrade(directory=str(ROOT / "migrations"))
        start = time.perf_counter()
        result = seed_demo(args.enquiries, seed=1)
        print(f"seeded {args.enquiries} enquiries in {time.perf_counter() - start:.1f} s")
        logins = {role: (email, password) for email, password, role in result.logins}
        from crm.staff.models import User

        manager_id = db.session.scalar(db.select(User.id).where(User.email == logins["manager"][0]))
        sample = db.session.scalar(db.select(Enquiry.reference).where(Enquiry.assignee_id == manager_id)
                                   .order_by(Enquiry.id.desc()).limit(1))
    clients = {}
    for role in ("manager", "admin"):
        clients[role] = app.test_client()
        login(clients[role], *logins[role])
    pages = ["/staff/enquiries", "/staff/enquiries?sort=response_due", "/staff/enquiries?sort=follow_up",
             "/staff/enquiries?sort=activity", "/staff/enquiries?overdue=1",
             "/staff/enquiries?status=won&overdue=1", "/staff/enquiries?priority=high&sector=biotech",
             "/staff/enquiries?page=200", f"/staff/enquiries/{sample}"]
    for role, client in clients.items():
        for page in pages:
            print(f"{role:8} {page:55} {timed(client, page, args.repeat) * 1000:8.1f} ms")
    for role, client in clients.items():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        response = client.get("/staff/enquiries.csv?status=all")
        rows = sum(chunk.count(b"\n") for chunk in response.response) - 1
        seconds = time.perf_counter() - start
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(f"{role:8} CSV export of {rows} rows in {seconds:.1f} s, peak RSS growth {grown:.0f} MiB")


if __name__ == "__main__":
    main()
