"""Fixtures: a real database (SQLite file, and PostgreSQL where it answers), a real SMTP server.

The schema is built once per database by the Alembic migrations themselves, so every test run
also proves that the migrations produce what the models describe.
"""

import os
import re
import socket
import uuid

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import TestingConfig
from crm import create_app
from crm.extensions import db
from tests.smtp import SMTPServer

# Fails a test whose run logged a traceback it did not ask for (tests/tracebacks.py).
pytest_plugins = ["tests.tracebacks", "pytester"]

POSTGRES_URL = os.environ.get("CRM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
KEEP_TABLES = {"alembic_version", "privacy_policies"}


def postgres_problem():
    """Why PostgreSQL cannot be used for tests, or None when it answers."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL does not answer at {POSTGRES_URL}: {error}".strip()
    return None


def _admin_connection():
    return psycopg.connect(re.sub(r"/[^/]*$", "/postgres", POSTGRES_URL), autocommit=True)


def config_class(database_url, **overrides):
    return type("TestConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database for the session; each test empties it again afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'crm.sqlite3'}"
        name = None
    else:
        problem = postgres_problem()
        if problem:
            pytest.skip(problem)
        name = f"crm_test_{uuid.uuid4().hex[:12]}"
        with _admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = re.sub(r"/[^/]*$", f"/{name}", POSTGRES_URL)
    app = create_app(config_class(url))
    with app.app_context():
        upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
        db.session.remove()
        db.engine.dispose()
    yield url
    if name:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_database(app):
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP_TABLES]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(
                    "TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"
                ))
            else:
                for table in tables:
                    conn.execute(table.delete())
            # Keep the policy the migration published; drop any a test added.
            conn.execute(sa.text("DELETE FROM privacy_policies WHERE version <> '2026-01'"))
        db.engine.dispose()


@pytest.fixture
def make_app(database_url):
    """Build an app on the test database with config overrides: make_app(MAIL_PORT=…)."""
    apps = []

    def make(**overrides):
        app = create_app(config_class(database_url, **overrides))
        if "SQLALCHEMY_DATABASE_URI" not in overrides:  # only the test database is emptied
            apps.append(app)
        return app

    yield make
    for app in apps:
        empty_database(app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it accepts."""
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)


@pytest.fixture
def make_user(app):
    """Create a staff account: make_user(role="admin", email=…, password=…)."""
    from crm.staff.services import create_user

    counter = iter(range(1, 10_000))

    def make(role="manager", email=None, name=None, password="correct horse battery staple", **kwargs):
        n = next(counter)
        with app.app_context():
            user = create_user(email=email or f"{role}{n}@investinaalborg.example",
                               name=name or f"{role.title()} {n}", role=role, password=password,
                               **kwargs)
            user_id = user.id
        return user_id

    return make


@pytest.fixture
def login(app):
    """Log `client` in as the user with `user_id` through the real form: GET /login, then POST
    /login with its CSRF token and the password `make_user` gives by default (or `password`)."""
    from crm.staff.models import User
    from tests.helpers import hidden_value

    def do_login(client, user_id, password="correct horse battery staple"):
        with app.app_context():
            email = db.session.get(User, user_id).email
        page = client.get("/login")
        response = client.post("/login", data={
            "email": email, "password": password, "csrf_token": hidden_value(page.text, "csrf_token"),
        })
        assert response.status_code == 303, f"login of user {user_id} failed: {response.status_code}"
        return response

    return do_login
