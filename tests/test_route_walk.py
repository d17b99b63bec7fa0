"""Every route, for every kind of visitor, with hostile path, query and form values: never a 5xx,
and a refused request (4xx) changes no table but the audit log (refusals are audited).

The routes come from `app.url_map`, so a route added later is walked without a change here.
Values: huge, negative and non-ASCII digits, empty, 10 kB strings, NUL, lone surrogates, and
the real ids and references of a small world, so that hostile queries reach real records.
"""

from datetime import timedelta
from urllib.parse import quote_from_bytes

import pytest
import sqlalchemy as sa
from flask import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from crm import create_app
from crm.extensions import db
from tests.conftest import config_class, empty_database
from tests.helpers import csrf_token, hidden_value
from tests.staff.test_access import VISITORS, build_world

# Refusals are written to the audit log on purpose; every other table must stay as it was.
AUDIT_TABLES = {"audit_log"}
# POST /logout ends the visitor's session, and with it the rest of the walk for that visitor;
# tests/staff/test_sessions.py and test_csrf.py cover it.
SKIPPED = {("/logout", "POST")}
# Parameter names the app reads from queries and forms; any other name is ignored by every view.
FIELD_NAMES = ("page", "before", "status", "assignee", "sector", "topic", "q", "overdue", "sort",
               "priority", "next", "lang", "email", "password", "current_password", "confirm",
               "code", "name", "role", "title", "assignee_id", "reason", "body", "due", "subject",
               "project_type", "planned_jobs", "realised_jobs", "planned_capex_eur",
               "realised_capex_eur", "away_until", "consent", "country", "message", "company",
               "phone", "policy_version", "language", "website", "sectors", "topics")

HOSTILE = [
    "99999999999999999999999", "9" * 400, "2147483648", "-1", "-0", "0", "", " ", "²", "٣", "３",
    "+1", "1e309", "1_000", "NaN", "\x00", "%00", "a\x00b", "\ud800", "x\udfffy", "x" * 10_240,
    "../../etc/passwd", "'; DROP TABLE users; --", "<script>alert(1)</script>", "\r\nX-Injected: 1",
    "AAL-0000-0000", "2026-02-30", "99999-12-31", "true", "[]", "{}", "%", "\\",
]


# Worst offenders, tried one parameter at a time on every parameter a route reads.
SWEEP = ["99999999999999999999999", "²", "٣", "-1", "", "x" * 10_240, "\x00", "\ud800"]


class RecordingDict(ImmutableMultiDict):
    """Query and form values that note which names a view read, to aim the sweep at them."""

    read = set()

    def __getitem__(self, key):
        RecordingDict.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        RecordingDict.read.add(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's signature)
        RecordingDict.read.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        RecordingDict.read.add(key)
        return super().getlist(key, type)


class RecordingRequest(Request):
    parameter_storage_class = RecordingDict


def _rules():
    app = create_app(config_class("sqlite://"))
    cases = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in SKIPPED:
                cases.append((rule.rule, method))
    return cases


ROUTES = _rules()


def as_url_part(value):
    """Percent-encode any string, lone surrogates included (as the bytes a browser might send)."""
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture(scope="module")
def walk_app(database_url):
    app = create_app(config_class(database_url))
    app.request_class = RecordingRequest
    yield app
    empty_database(app)


@pytest.fixture(scope="module")
def walk_world(walk_app):
    from crm.staff.services import create_user

    counter = iter(range(1, 100))

    def make_user(role):
        with walk_app.app_context():
            return create_user(email=f"walk-{role}{next(counter)}@investinaalborg.example", name=role,
                               role=role, password="correct horse battery staple").id

    def login(client, user_id):
        from crm.staff.models import User

        with walk_app.app_context():
            email = db.session.get(User, user_id).email
        token = hidden_value(client.get("/login").text, "csrf_token")
        assert client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                           "csrf_token": token}).status_code == 303

    ids, refs, client_for = build_world(walk_app, make_user, login)
    clients = {visitor: client_for(visitor) for visitor in VISITORS}
    tokens = {visitor: csrf_token(client, "/login" if visitor == "anonymous" else "/account/password")
              for visitor, client in clients.items()}
    valid = {"int": [str(i) for i in [*ids.values(), refs["dead_message"]]],
             "default": [refs["mine"], refs["unassigned"]]}
    return clients, tokens, valid


def row_counts(app):
    """Rows in every table but the audit log, in one statement."""
    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables if t.name not in AUDIT_TABLES]
        row = db.session.execute(sa.select(*[
            sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables
        ])).one()
        db.session.remove()
    return dict(row._mapping)


hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40),
                    st.integers(min_value=-(2**80), max_value=2**80).map(str))


@st.composite
def requests(draw, rule, valid, method):
    """A path with every argument filled, a hostile query string, and for POST a hostile form."""
    import re

    def argument(match):
        converter = match.group(1) or "default"
        choices = hostile if method == "POST" else st.one_of(hostile, st.sampled_from(valid.get(converter, ["x"])))
        return as_url_part(draw(choices))

    path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", argument, rule)
    names = draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=4, unique=True))
    values = {name: draw(hostile) for name in names}
    query = "&".join(f"{name}={as_url_part(value)}" for name, value in values.items())
    return path, query, values


def valid_path(rule, valid):
    """`rule` with the first real id or reference for each argument."""
    import re

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
                  lambda m: as_url_part(valid.get(m.group(1) or "default", ["x"])[0]), rule)


def check(app, client, method, path, values, token):
    """One request: no 5xx; when refused, every table but the audit log as it was."""
    before = row_counts(app)
    query = "&".join(f"{name}={as_url_part(value)}" for name, value in values.items())
    data = None
    if method == "POST":
        data = {name: value.encode("utf-8", "surrogatepass") for name, value in values.items()}
        data["csrf_token"] = token
    response = client.open(f"{path}?{query}", method=method, data=data)
    assert response.status_code < 500, (method, path, query[:200], response.status_code)
    if response.status_code >= 400:
        assert row_counts(app) == before, (method, path, query[:200], response.status_code)


def names_read(client, method, path, token):
    """The query and form names the view reads (a GET, or a POST that only carries the token)."""
    RecordingDict.read = set()
    client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    return sorted(RecordingDict.read - {"csrf_token"})


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("rule, method", ROUTES, ids=[f"{m} {r}" for r, m in ROUTES])
def test_no_route_breaks_or_changes_anything_when_it_refuses(walk_app, walk_world, rule, method, visitor):
    clients, tokens, valid = walk_world
    client, token = clients[visitor], tokens[visitor]

    # Every parameter the route reads, one at a time, with the values that broke it before.
    # (A POST to a real record could deactivate or reassign it: POSTs are swept on argument-free
    # routes only, and walked below with hostile paths.)
    if method == "GET" or "<" not in rule:
        path = valid_path(rule, valid)
        for name in names_read(client, method, path, token):
            for value in SWEEP:
                check(walk_app, client, method, path, {name: value}, token)

    @settings(max_examples=4, deadline=timedelta(seconds=5), database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(requests(rule, valid, method))
    def walk(request):
        path, _, values = request
        check(walk_app, client, method, path, values, token)

    walk()
