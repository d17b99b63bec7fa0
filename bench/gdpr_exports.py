"""Streamed GDPR exports: memory growth and rows/s against the database's own CSV dump.

Run by hand (not part of the test suite) on databases seeded with `flask crm seed-demo
--enquiries N` (one consent per enquiry), e.g. one with 1,000 and one with 1,000,000:

    SECRET_KEY=bench .venv/bin/python bench/gdpr_exports.py \\
        sqlite:////tmp/crm1k.sqlite3 sqlite:////tmp/crm1m.sqlite3

Each measurement runs in a fresh child process that builds the app and drains the generator
that `GET /admin/gdpr/consents.csv` streams (`consent_csv()`: keyset batches, formula cells
neutralised in SQL) into /dev/null. Reported: rows/s, and the growth of the
process's peak RSS (ru_maxrss) from just before the export to its end. The baseline is the
database's own CSV writer on the same rows (same join): `sqlite3 -csv` or
`psql -c "\\copy (…) TO STDOUT CSV"`. Results and the machine go in docs/performance.md.
"""

import json
import os
import resource
import subprocess
import sys
import time

QUERY = (
    "SELECT e.reference, c.email, c.name, s.given_at, s.policy_version, s.policy_sha256, "
    "s.method, s.ip_address, s.withdrawn_at FROM consents s JOIN contacts c ON c.id = s.contact_id "
    "LEFT JOIN enquiries e ON e.id = s.enquiry_id ORDER BY s.id"
)


def child():
    """In the child process: run the export; print one JSON line with the figures."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from crm import create_app
    from crm.gdpr.exports import consent_csv

    app = create_app()
    with app.app_context():
        # A serving worker has configured its mappers long before an export: not timed here.
        import sqlalchemy.orm

        sqlalchemy.orm.configure_mappers()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lines = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        with open(os.devnull, "wb") as sink:
            for chunk in consent_csv():  # text on SQLite, bytes from PostgreSQL's COPY
                data = chunk.encode() if isinstance(chunk, str) else chunk
                sink.write(data)
                lines += data.count(b"\n")
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": lines - 1, "seconds": seconds, "cpu": cpu, "growth_mb": (peak - before) / 1024,
                      "peak_mb": peak / 1024}))


def database_dump(url):
    """Wall seconds for the database's own CSV writer on the same rows, into /dev/null, and the
    CPU seconds of the dump process (for PostgreSQL, of psql only: the server's share is not
    counted, as it is not for the app's COPY either)."""
    if url.startswith("sqlite"):
        command = ["sqlite3", "-csv", "-header", url.split("sqlite:///", 1)[1], QUERY]
    else:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        command = ["psql", plain, "-c", f"\\copy ({QUERY}) TO STDOUT WITH CSV HEADER"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        subprocess.run(command, check=True, stdout=sink)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - started, cpu


def main(urls):
    print("| database | rows | export rows/s (wall) | dump rows/s (wall) | ratio | export rows/CPU-s "
          "| dump rows/CPU-s | ratio | RSS growth | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for url in urls:
        env = {**os.environ, "DATABASE_URL": url}
        out = subprocess.check_output([sys.executable, os.path.abspath(__file__), "--child"],
                                      text=True, env=env)
        result = json.loads(out.strip().splitlines()[-1])
        dump, dump_cpu = database_dump(url)
        n = result["rows"]
        ours, theirs = n / result["seconds"], n / dump
        ours_cpu, theirs_cpu = n / result["cpu"], n / max(dump_cpu, 1e-6)
        name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        print(f"| {name} | {n:,} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} | "
              f"{ours_cpu:,.0f} | {theirs_cpu:,.0f} | {ours_cpu / theirs_cpu:.2f} | "
              f"{result['growth_mb']:.1f} MB | {result['peak_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        main(sys.argv[1:])
