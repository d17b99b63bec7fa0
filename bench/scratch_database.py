"""A throwaway database for the in-process benchmarks (bench/intake_drain.py, bench/profile_intake.py).

`create(kind, prefix)` makes a temporary directory and, for "sqlite", a database file in it, or,
for "postgresql", a new database at 127.0.0.1:5432; it sets DATABASE_URL, production
configuration and a fresh SECRET_KEY in the environment (read by the app's config), and returns
the ScratchDatabase. `drop()` removes the PostgreSQL database again.
"""

import os
import secrets
import tempfile
from dataclasses import dataclass

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class ScratchDatabase:
    kind: str
    work: str  # the temporary directory: the instance path, and the SQLite file's home
    name: str  # the PostgreSQL database's name

    def drop(self):
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def create(kind, prefix):
    work = tempfile.mkdtemp(prefix=f"crm-{prefix}-")
    name = f"crm_{prefix}_{secrets.token_hex(4)}"
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{work}/crm.sqlite3"
    os.environ.update(CRM_ENV="production", SECRET_KEY=secrets.token_hex(32), CRM_INSTANCE_PATH=work)
    return ScratchDatabase(kind, work, name)
