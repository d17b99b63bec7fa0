"""The migrations build the schema from empty, and the models have not drifted from them."""

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from crm.extensions import db

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")


def test_flask_db_check_finds_no_drift(app):
    # `flask db check` exits non-zero (SystemExit) when the models and migrations differ.
    with app.app_context():
        check(directory=MIGRATIONS)


def test_flask_db_check_notices_drift(app):
    table = sa.Table("drift_probe", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        with app.app_context(), pytest.raises(SystemExit):
            check(directory=MIGRATIONS)
    finally:
        db.metadata.remove(table)


def test_the_first_migration_publishes_the_privacy_policy(app):
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT language, version, sha256 FROM privacy_policies ORDER BY language")).all()
    from crm.enquiries.policy import FIRST_POLICY_TEXT, FIRST_POLICY_TEXT_DA, policy_sha256

    assert [tuple(row) for row in rows] == [("da", "2026-01", policy_sha256(FIRST_POLICY_TEXT_DA)),
                                            ("en", "2026-01", policy_sha256(FIRST_POLICY_TEXT))]


@pytest.fixture
def fresh_database_url(database_url, tmp_path):
    """An empty database of the same kind as this run's test database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/fresh.sqlite3"
        return
    from tests.conftest import _admin_connection

    name = f"crm_fresh_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield re.sub(r"/[^/]*$", f"/{name}", database_url)
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_downgrade_to_empty_and_upgrade_again(make_app, fresh_database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        downgrade(directory=MIGRATIONS, revision="base")
        db.session.remove()
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade(directory=MIGRATIONS)
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"contacts", "enquiries", "consents", "outbox_messages", "users", "audit_log"} <= tables
        db.session.remove()
        db.engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_secure_delete(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas: this run's database is PostgreSQL")
        conn = db.session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_a_migration_that_recreates_a_table_keeps_the_rows_that_point_at_it(make_app, fresh_database_url):
    """On SQLite, batch mode copies a table, drops it and renames the copy; with foreign keys on,
    that DROP would delete (or null) every row pointing at it. Here: the downgrade of the 2FA
    migration recreates `users`; the manager's rule and session must still be there."""
    from crm.assignment.models import AssignmentRule
    from crm.staff.services import create_user

    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        user = create_user(email="helena@investinaalborg.example", name="Helena Peyron", role="manager",
                           password="correct horse battery staple")
        user_id = user.id
        db.session.add(AssignmentRule(user_id=user_id, sectors=["medtech"], priority=1))
        db.session.commit()
        db.session.remove()
        downgrade(directory=MIGRATIONS, revision="912c92c6e418")  # through 263d082bc6ae's batch
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1
            assert conn.exec_driver_sql("SELECT user_id FROM assignment_rules").scalars().all() == [user_id]
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM assignment_rules").scalar() == 1
        db.session.remove()
        db.engine.dispose()


def test_sqlite_keeps_the_intake_queue_in_a_file_of_its_own(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's intake file: this run's database is PostgreSQL")
        conn = db.session.connection()
        attached = {row[1]: row[2] for row in conn.exec_driver_sql("PRAGMA database_list")}
        assert attached["intake_queue"] == attached["main"] + "-intake"
        assert "intake" not in sa.inspect(conn).get_table_names()  # the main file has none
        assert "intake" in sa.inspect(conn).get_table_names(schema="intake_queue")
        assert conn.exec_driver_sql("PRAGMA intake_queue.journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA intake_queue.secure_delete").scalar() == 1
        columns = [c["name"] for c in sa.inspect(conn).get_columns("intake", schema="intake_queue")]
        assert columns == [c.name for c in db.metadata.tables["intake"].columns]


def test_sqlite_moves_waiting_submissions_to_the_intake_file_and_back(make_app, fresh_database_url):
    if not fresh_database_url.startswith("sqlite"):
        pytest.skip("the move concerns SQLite only")
    app = make_app(SQLALCHEMY_DATABASE_URI=fresh_database_url)
    row = {"reference": "IIA-MOVE-0001", "name": "Ada", "email": "ada@example.com", "company": "",
           "phone": "", "country": "DK", "sector": "medtech", "topic": "other", "message": "Hello",
           "language": "en", "policy_version": "2026-01", "policy_language": "en",
           "received_at": "2026-11-27 10:00:00.000000", "next_attempt_at": "2026-11-27 10:00:00.000000"}
    insert = sa.text(f"INSERT INTO main.intake ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})")
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="77daf8f9ba7a")
        with db.engine.begin() as conn:
            conn.execute(insert, row)
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            assert "intake" not in sa.inspect(conn).get_table_names()
            assert conn.exec_driver_sql("SELECT reference FROM intake_queue.intake").scalars().all() == [
                "IIA-MOVE-0001"]
        downgrade(directory=MIGRATIONS, revision="77daf8f9ba7a")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT reference FROM main.intake").scalars().all() == ["IIA-MOVE-0001"]
            assert conn.exec_driver_sql("SELECT count(*) FROM intake_queue.intake").scalar() == 0
        upgrade(directory=MIGRATIONS)
        check(directory=MIGRATIONS)
        db.session.remove()
        db.engine.dispose()
