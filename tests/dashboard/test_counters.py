"""The dashboard's counters stay in step with `enquiries` whoever writes (the triggers), the
migration fills them from existing enquiries, the seed's bulk load rebuilds them, an erasure
leaves every figure as it was, and a period's figures are exact at any edges."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from crm.dashboard import counters, figures
from crm.dashboard.periods import Period
from crm.dashboard.report import pipeline_rows
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.staff.models import User
from tests.dashboard.conftest import NOW, PERIOD, add, at
from tests.helpers import make_enquiry

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")
BEFORE_COUNTERS = "b3e5d7f9a1c2"


def _rows(query):
    return sorted(tuple(str(v)[:10] if hasattr(v, "isoformat") else int(v) if isinstance(v, int) else v
                        for v in row) for row in db.session.execute(sa.text(query)))


def stored(counter):
    dialect = db.session.get_bind().dialect.name
    names = ", ".join(name for name, _ in counter.keys("", dialect) + counter.measures(""))
    return _rows(f"SELECT {names} FROM {counter.table}")  # noqa: S608 (our names)


def recomputed(counter):
    return _rows(counters._group_by(counter, db.session.get_bind().dialect.name))


def assert_in_step():
    """Every counter holds exactly what one GROUP BY over `enquiries` gives now."""
    for counter in counters.COUNTERS:
        assert stored(counter) == recomputed(counter), counter.table


def enquiry(reference):
    return db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))


def test_insert_status_first_response_facts_and_reassignment_keep_the_counters_in_step(app, world, make_user):
    from crm.assignment.services import assign_enquiry
    from crm.triage.actions import add_note, change_status, update_project

    with app.app_context():
        assert_in_step()
        months = {(row[0], row[2], row[1], row[4]): row[5] for row in stored(counters.MONTHS)}
        assert months[("2026-01-01", "medtech", "won", world["a"])] == 1
        assert months[("2026-02-01", "pharma", "new", 0)] == 1  # unassigned: 0
        admin = db.session.get(User, make_user(role="admin"))
        e4 = enquiry(world["e4"])
        add_note(e4, "Contacted by phone", admin)  # a first response
        assert_in_step()
        change_status(e4, "qualified", "", admin)
        update_project(e4, {"planned_jobs": 40, "planned_capex_eur": 9_000_000}, admin)
        assert_in_step()
        assign_enquiry(e4, db.session.get(User, world["b"]), admin, confirm=True)
        assert_in_step()
        change_status(e4, "lost", "Chose Malmö", admin)
        assert_in_step()
        closings = {(row[1], row[4], row[2]): row[5] for row in stored(counters.CLOSINGS)}
        assert closings[("lost", world["b"], "Chose Malmö")] == 1
        change_status(e4, "meeting", "", admin)  # reopened: the closing goes
        assert_in_step()
        assert not any(row[2] == "Chose Malmö" for row in stored(counters.CLOSINGS))
        db.session.execute(sa.delete(Enquiry).where(Enquiry.reference == world["e5"]))  # by hand
        db.session.commit()
        assert_in_step()


def test_an_erasure_leaves_every_figure_and_keeps_no_lost_reason_text(app, world):
    from crm.gdpr.erasure import erase_subject

    with app.app_context():
        e2 = enquiry(world["e2"])
        email = e2.contact.email
        start, end = Period.from_args(PERIOD, NOW.date()).utc_bounds("Europe/Copenhagen")
        before = (figures.dashboard(figures.TEAM, start, end, NOW, NOW), pipeline_rows(figures.TEAM, start, end))
        erase_subject(email)
        assert_in_step()
        after = (figures.dashboard(figures.TEAM, start, end, NOW, NOW), pipeline_rows(figures.TEAM, start, end))
        before[0]["outcomes"]["quarters"][0][3].pop("Project cancelled")
        before[0]["outcomes"]["quarters"][0][3]["(no reason)"] = 1  # the reason was the person's words
        assert after == before
        assert not any("Project cancelled" in str(row) for row in stored(counters.CLOSINGS))


def raw_cells(counter, scope, start, end):
    """One GROUP BY over `enquiries` in exactly [start, end)."""
    params = {"a": start, "b": end}
    where = (f" AND {counter.time_column} >= :a AND {counter.time_column} < :b"
             + scope.where("coalesce(assignee_id, 0)", params))
    moment = counters.UTCDateTime
    query = sa.text(counters._group_by(counter, db.session.get_bind().dialect.name, where)).bindparams(
        sa.bindparam("a", type_=moment), sa.bindparam("b", type_=moment))
    size = len(counter.measures(""))
    return {(str(r[0])[:10], *r[1:len(r) - size]): [int(v) for v in r[len(r) - size:]]
            for r in db.session.execute(query, params)}


def test_a_period_is_exact_at_any_edges(app, make_user):
    """Enquiries on either side of month and week boundaries; many periods, each compared with
    one GROUP BY over exactly its time."""
    a = make_user()
    moments = [datetime(2025, 12, 31, 22, 30, tzinfo=UTC), datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
               datetime(2026, 1, 1, 0, 10, tzinfo=UTC), datetime(2026, 1, 14, 9, tzinfo=UTC),
               datetime(2026, 1, 31, 23, 59, tzinfo=UTC), datetime(2026, 2, 1, 0, 1, tzinfo=UTC),
               datetime(2026, 2, 2, 8, tzinfo=UTC), datetime(2026, 3, 31, 21, 30, tzinfo=UTC),
               datetime(2026, 3, 31, 22, 30, tzinfo=UTC), datetime(2026, 4, 2, 12, tzinfo=UTC)]
    for i, moment in enumerate(moments):
        add(app, moment, assignee=a if i % 2 else None, status=("new", "won", "lost", "contacted")[i % 4],
            response_hours=i if i % 3 else None, closed_at=moment + timedelta(days=i) if i % 4 in (1, 2) else None,
            lost_reason="No budget" if i % 4 == 2 else None)
    periods = [("2026-01-01", "2026-03-31"), ("2026-01-10", "2026-01-20"), ("2026-01-15", "2026-02-15"),
               ("2025-12-31", "2026-01-01"), ("2026-02-01", "2026-02-28"), ("2025-11-03", "2026-04-30")]
    with app.app_context():
        for first, last in periods:
            start, end = Period.from_args({"period": "custom", "from": first, "to": last},
                                          NOW.date()).utc_bounds("Europe/Copenhagen")
            for now in (NOW, datetime(2026, 1, 20, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
                for counter in (counters.MONTHS, counters.WEEKS, counters.HOURS, counters.CLOSINGS):
                    for scope in (counters.TEAM, counters.assigned_to(a), counters.Scope((a, counters.UNASSIGNED))):
                        got = counters.cells(counter, scope, start, end, now)
                        expected = raw_cells(counter, scope, start, end)
                        assert got == expected, (counter.table, first, last, now, scope)
                        if counter is counters.HOURS:  # the percentiles the database ranks
                            histograms = {}
                            for (month, hours, _), (n,) in expected.items():
                                histograms.setdefault(month, {}).setdefault(hours, 0)
                                histograms[month][hours] += n
                            assert counters.percentiles(scope, start, end, now) == {
                                m: (figures.percentile(h, 0.5), figures.percentile(h, 0.9))
                                for m, h in histograms.items()}


def test_the_seeds_bulk_load_rebuilds_the_counters(app, monkeypatch):
    from crm.enquiries import seed

    monkeypatch.setattr(seed, "BULK_FROM", 1)  # the path a load of 50,000 or more takes
    with app.app_context():
        seed.seed_demo(300, seed=3)
        assert db.session.scalar(sa.text("SELECT sum(n) FROM dashboard_totals")) == 300
        assert_in_step()
        make_enquiry(app)  # and the triggers are back
        assert_in_step()


@pytest.fixture
def old_database(make_app, database_url, tmp_path):
    """A database migrated up to the revision before the counters."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/old.sqlite3"
        yield make_app(SQLALCHEMY_DATABASE_URI=url)
        return
    import re
    import uuid

    from tests.conftest import _admin_connection

    name = f"crm_old_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    app = make_app(SQLALCHEMY_DATABASE_URI=re.sub(r"/[^/]*$", f"/{name}", database_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_migration_fills_the_counters_from_existing_enquiries(old_database):
    app = old_database
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_COUNTERS)
    for i in range(6):
        add(app, at(1 + i % 3, 3 + i), status=("new", "won", "lost")[i % 3], response_hours=i or None,
            closed_at=at(3, 20) if i % 3 else None, lost_reason="Too far" if i % 3 == 2 else None, planned_jobs=i)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert db.session.scalar(sa.text("SELECT sum(n) FROM dashboard_months")) == 6
        assert db.session.scalar(sa.text("SELECT sum(planned_jobs) FROM dashboard_totals")) == 15
        assert_in_step()
        db.session.remove()  # PostgreSQL: the open read would block the DROP TRIGGER
        downgrade(directory=MIGRATIONS, revision=BEFORE_COUNTERS)
        assert "dashboard_months" not in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
