"""Streamed GDPR exports: memory growth and rows/s against the database's own CSV dump.

Run by hand (not part of the test suite) on databases seeded with `flask crm seed-demo
--enquiries N` (one consent per enquiry), e.g. one with 1,000 and one with 1,000,000:

    SECRET_KEY=bench .venv/bin/python bench/gdpr_exports.py [--rounds 3] \\
        sqlite:////tmp/crm1k.sqlite3 sqlite:////tmp/crm1m.sqlite3

Each measurement runs in a fresh child process that builds the app and drains the generator
that `GET /admin/gdpr/consents.csv` streams (`consent_csv()`: COPY on PostgreSQL, one CSV blob
per keyset batch written by SQLite) into /dev/null. Reported: rows/s, and the growth of the
process's peak RSS (ru_maxrss) from just before the export to its end. The baseline is the
database's own CSV writer on the same rows (same join): `sqlite3 -csv` or
`psql -c "\\copy (…) TO STDOUT CSV"`. `--rounds N` (default 3) alternates export and dump N
times per database and reports the medians (the largest RSS growth): these shared machines
vary by ±25 %. Results and the machine go in docs/performance.md.
"""

import json
import os
import resource
import statistics
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
    from crm.extensions import db
    from crm.gdpr.exports import consent_csv, consent_part

    app = create_app()
    with app.app_context():
        # A serving worker has configured its mappers long before an export: not timed here.
        import sqlalchemy as sa
        import sqlalchemy.orm

        sqlalchemy.orm.configure_mappers()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu_started = time.perf_counter(), time.process_time()
        with open(os.devnull, "wb") as sink:
            for chunk in consent_csv():  # bytes: COPY's on PostgreSQL, one blob a batch on SQLite
                sink.write(chunk)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The rows written, counted afterwards: the harness adds no work to the timed export.
        part = consent_part()
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(
            part.select.with_only_columns(part.key).subquery()))
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu, "growth_mb": (peak - before) / 1024,
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


def main(urls, rounds):
    print("| database | rows | export rows/s (wall) | dump rows/s (wall) | ratio | export rows/CPU-s "
          "| dump rows/CPU-s | ratio | RSS growth | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for url in urls:
        env = {**os.environ, "DATABASE_URL": url}
        results, dumps = [], []
        for _ in range(rounds):  # alternating, so that the machine's load weighs on both alike
            out = subprocess.check_output([sys.executable, os.path.abspath(__file__), "--child"],
                                          text=True, env=env)
            results.append(json.loads(out.strip().splitlines()[-1]))
            dumps.append(database_dump(url))
        n = results[0]["rows"]
        ours = statistics.median(n / r["seconds"] for r in results)
        theirs = statistics.median(n / wall for wall, _ in dumps)
        ours_cpu = statistics.median(n / r["cpu"] for r in results)
        theirs_cpu = statistics.median(n / max(cpu, 1e-6) for _, cpu in dumps)
        growth = max(r["growth_mb"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        print(f"| {name} | {n:,} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} | "
              f"{ours_cpu:,.0f} | {theirs_cpu:,.0f} | {ours_cpu / theirs_cpu:.2f} | "
              f"{growth:.1f} MB | {peak:.0f} MB |", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        args = sys.argv[1:]
        rounds = 3
        if "--rounds" in args:
            at = args.index("--rounds")
            rounds = int(args[at + 1])
            del args[at:at + 2]
        main(args, rounds)
