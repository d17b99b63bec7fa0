"""Ids and numbers from URLs, query strings and forms: ASCII digits, bounded, 400/404 otherwise."""

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.params import MAX_ID, parse_int
from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User
from tests.helpers import count, csrf_token, make_enquiry
from tests.staff.test_access import make_dead_message

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("value, expected", [
    ("1", 1), ("0042", 42), (str(MAX_ID), MAX_ID),
    ("0", None), (str(MAX_ID + 1), None), (HUGE, None), ("9" * 10_000, None),
    ("²", None), ("٣", None), ("３", None), ("-1", None), ("+1", None), (" 1", None), ("1 ", None),
    ("1_000", None), ("1.0", None), ("", None), ("\x00", None), (None, None), (7, None),
])
def test_parse_int_takes_only_ascii_digits_in_bounds(value, expected):
    assert parse_int(value) == expected


def test_parse_int_bounds_are_the_callers():
    assert parse_int("0", minimum=0) == 0
    assert parse_int("101", maximum=100) is None


@pytest.fixture
def admin(app, client, make_user, login):
    user_id = make_user(role="admin")
    login(client, user_id)
    return user_id


def state(app):
    """Everything these requests could change (access refusals are audited, nothing else)."""
    with app.app_context():
        users = db.session.execute(sa.select(User.id, User.active, User.role).order_by(User.id)).all()
        outbox = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.status)
                                    .order_by(OutboxMessage.id)).all()
        assignees = db.session.execute(sa.select(Enquiry.id, Enquiry.assignee_id)).all()
    return users, outbox, assignees, count(app, AuditLog, AuditLog.action != "enquiries.listed")


@pytest.mark.parametrize("query", [
    "page=%C2%B2", "page=%D9%A3", "page=-1", "page=0", "page=100001", f"page={HUGE}", "page=+1",
    "assignee=%C2%B2", "assignee=%D9%A3", f"assignee={HUGE}", "assignee=-3", "assignee=%201",
])
def test_inbox_numbers_a_person_can_type_answer_400(app, client, admin, query):
    make_enquiry(app)
    before = state(app)
    response = client.get(f"/staff/enquiries?{query}")
    assert response.status_code == 400
    assert state(app) == before


def test_the_inbox_still_takes_a_page_and_an_assignee_id(app, client, admin):
    make_enquiry(app, assignee_id=admin)
    assert client.get(f"/staff/enquiries?assignee={admin}&page=1").status_code == 200
    assert client.get("/staff/enquiries?page=100000").status_code == 200


@pytest.mark.parametrize("query", ["before=%C2%B2", "before=%D9%A3", f"before={HUGE}", "before=0",
                                   "before=-5", f"before={MAX_ID + 1}"])
def test_outbox_before_answers_400(app, client, admin, query):
    assert client.get(f"/admin/outbox?{query}").status_code == 400


def test_outbox_before_still_pages(app, client, admin):
    message = make_dead_message(app)
    assert f"/admin/outbox/{message}" in client.get(f"/admin/outbox?before={message + 1}").text


@pytest.mark.parametrize("path, method", [
    ("/admin/users/{id}", "GET"), ("/admin/users/{id}", "POST"), ("/admin/users/{id}/deactivate", "POST"),
    ("/admin/users/{id}/reactivate", "POST"), ("/admin/outbox/{id}", "GET"),
    ("/admin/outbox/{id}/requeue", "POST"),
])
@pytest.mark.parametrize("bad_id", [HUGE, str(MAX_ID + 1), "9" * 5000, "%C2%B2", "%D9%A3", "-1", "%EF%BC%93"])
def test_out_of_range_and_non_ascii_ids_in_paths_answer_404(app, client, admin, path, method, bad_id):
    make_dead_message(app)
    token = csrf_token(client, "/admin/users")
    before = state(app)
    response = client.open(path.format(id=bad_id), method=method,
                           data={"csrf_token": token, "role": "manager"} if method == "POST" else None)
    assert response.status_code == 404
    assert state(app) == before


def test_a_non_ascii_digit_never_names_a_user(app, client, admin):
    # Werkzeug's own converter read '٣' (Arabic-Indic three) as 3.
    assert client.get(f"/admin/users/{admin}").status_code == 200
    arabic = "".join(chr(0x0660 + int(d)) for d in str(admin))
    assert client.get(f"/admin/users/{arabic}").status_code == 404


@pytest.mark.parametrize("assignee", ["²", "arabic", HUGE, "-1", " {id}", "", "x"])
def test_the_assign_form_refuses_non_ids_and_changes_nothing(app, client, admin, assignee):
    reference = make_enquiry(app)
    if assignee == "arabic":  # int() reads '٣' as 3: it named the admin
        assignee = "".join(chr(0x0660 + int(d)) for d in str(admin))
    before = state(app)
    response = client.post(f"/staff/enquiries/{reference}/assign",
                           data={"assignee_id": assignee.format(id=admin),
                                 "csrf_token": csrf_token(client, "/admin/users")})
    assert response.status_code == 422
    assert state(app) == before


@pytest.mark.parametrize("path", ["/staff/enquiries?q=%00", "/staff/enquiries?q=a%00b", "/staff/enquiries/%00",
                                  "/staff/enquiries?%00=1", "/login?next=/%00"])
def test_a_nul_character_in_a_path_or_query_answers_400(app, client, admin, path):
    # PostgreSQL refuses NUL in text: the inbox search answered 500 there.
    before = state(app)
    assert client.get(path).status_code == 400
    assert state(app) == before


def test_a_nul_character_in_a_form_answers_400(app, client, admin):
    before = state(app)
    response = client.post("/account/password", data={
        "current_password": "correct horse battery staple\x00", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase", "csrf_token": csrf_token(client, "/account/password")})
    assert response.status_code == 400
    assert state(app) == before
