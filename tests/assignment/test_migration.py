"""The rules migration turns each single condition into a list, and back, on both databases."""

import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from tests.conftest import POSTGRES_URL, _admin_connection, postgres_problem
from tests.test_migrations import MIGRATIONS

BEFORE = "5b1c2e7d9a01"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/rules.sqlite3"
        return
    if problem := postgres_problem():
        pytest.skip(problem)
    name = f"crm_rules_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_single_conditions_become_lists_and_come_back(make_app, fresh_url):
    from config import database_url

    app = make_app(SQLALCHEMY_DATABASE_URI=database_url(fresh_url))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (id, email, name, title, role, active, sectors, topics, languages, created_at) "
                "VALUES (1, 'h@example.com', 'H', '', 'manager', true, '[]', '[]', '[]', CURRENT_TIMESTAMP)"))
            conn.execute(sa.text(
                "INSERT INTO assignment_rules (id, priority, sector, topic, country, user_id, active) VALUES "
                "(1, 10, 'medtech', NULL, 'SE', 1, true), (2, 20, NULL, NULL, NULL, 1, false)"))
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, sectors, topics, countries, description FROM assignment_rules ORDER BY id")).all()
        decode = sa.JSON().result_processor(db.engine.dialect, None) or (lambda v: v)
        assert [(r.id, decode(r.sectors), decode(r.topics), decode(r.countries), r.description) for r in rows] == [
            (1, ["medtech"], [], ["SE"], ""), (2, [], [], [], "")]
        downgrade(directory=MIGRATIONS, revision=BEFORE)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, sector, topic, country FROM assignment_rules ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "medtech", None, "SE"), (2, None, None, None)]
        db.session.remove()
        db.engine.dispose()
