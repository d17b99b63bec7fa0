"""POST /login: credentials, the generic error, safe `next`, CSRF, hashing and audit."""

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from crm.core.audit import AuditLog
from crm.extensions import db
from crm.staff.models import User, UserSession
from crm.staff.services import AccountInvalid, create_user
from tests.helpers import audit_actions, count, csrf_token, hidden_value

PASSWORD = "correct horse battery staple"


def post_login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(client), **extra})


def email_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def test_login_page_has_a_form_with_csrf(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and 'name="email"' in page.text
    assert page.headers["Cache-Control"] == "no-store"


def test_a_manager_logs_in_and_sees_the_inbox(app, client, make_user):
    user_id = make_user(role="manager")
    response = post_login(client, email_of(app, user_id))
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/enquiries"
    assert client.get("/staff/enquiries").status_code == 200
    assert count(app, UserSession, UserSession.user_id == user_id) == 1
    assert audit_actions(app)[-2:] == ["login", "enquiries.listed"]
    with app.app_context():
        assert db.session.get(User, user_id).last_login_at is not None


def test_the_email_is_matched_case_insensitively(app, client, make_user):
    user_id = make_user(email="helena.peyron@investinaalborg.example")
    assert post_login(client, "  Helena.Peyron@InvestInAalborg.example ").status_code == 303
    assert count(app, UserSession, UserSession.user_id == user_id) == 1


def test_unknown_email_and_wrong_password_answer_the_same(app, make_user):
    user_id = make_user()
    answers = []
    for email, password in [("nobody@investinaalborg.example", PASSWORD),
                            (email_of(app, user_id), "wrong password here!")]:
        client = app.test_client()
        response = post_login(client, email, password)
        # The page's own token: one fetched by a later request may carry a later timestamp.
        answers.append((response.status_code, response.text.replace(hidden_value(response.text, "csrf_token"), "")))
        assert client.get("/staff/enquiries").status_code == 302
    assert answers[0][0] == answers[1][0] == 200
    assert "The email or password is not right." in answers[0][1]
    # The only difference is the email echoed back into its own field.
    assert answers[0][1].replace("nobody@investinaalborg.example", "") == \
        answers[1][1].replace(email_of(app, user_id), "")
    assert count(app, UserSession) == 0
    assert audit_actions(app)[-2:] == ["login.failed", "login.failed"]


@pytest.mark.parametrize("data", [
    {},
    {"email": "", "password": PASSWORD},
    {"email": "x@investinaalborg.example", "password": ""},
    {"email": ["a@b.example", "c@d.example"], "password": PASSWORD},
    {"email": "x" * 5000, "password": PASSWORD},
    {"email": "manager1@investinaalborg.example", "password": "p" * 10_000},
    {"email": "manager1@investinaalborg.example\x00", "password": PASSWORD},
])
def test_bad_input_logs_nobody_in(app, client, make_user, data):
    make_user()
    response = client.post("/login", data={**data, "csrf_token": csrf_token(client)})
    # A NUL character is refused before any view reads it (crm/core/params.py).
    assert response.status_code in ((400,) if any("\x00" in str(v) for v in data.values()) else (200, 422))
    assert count(app, UserSession) == 0
    assert client.get("/staff/enquiries").status_code == 302


def test_an_inactive_account_cannot_log_in(app, client, make_user):
    user_id = make_user()
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    response = post_login(client, email_of(app, user_id))
    assert response.status_code == 200
    assert "The email or password is not right." in response.text
    assert count(app, UserSession) == 0


def test_an_invited_account_without_password_cannot_log_in(app, client, make_user):
    user_id = make_user()
    with app.app_context():
        db.session.get(User, user_id).password_hash = None
        db.session.commit()
    assert post_login(client, email_of(app, user_id), "").status_code == 422
    assert post_login(client, email_of(app, user_id)).status_code == 200
    assert count(app, UserSession) == 0


def test_login_without_csrf_is_refused(app, client, make_user):
    user_id = make_user()
    client.get("/login")
    response = client.post("/login", data={"email": email_of(app, user_id), "password": PASSWORD})
    assert response.status_code == 400
    bad = client.post("/login", data={"email": email_of(app, user_id), "password": PASSWORD,
                                      "csrf_token": "forged"})
    assert bad.status_code == 400
    assert count(app, UserSession) == 0
    assert client.get("/staff/enquiries").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/staff/enquiries?status=new", "/staff/enquiries?status=new"),
    ("/account/password", "/account/password"),
    ("https://evil.example", "/staff/enquiries"),
    ("https://evil.example/staff/enquiries", "/staff/enquiries"),
    ("//evil.example", "/staff/enquiries"),
    ("///evil.example", "/staff/enquiries"),
    ("/\\evil.example", "/staff/enquiries"),
    ("\\\\evil.example", "/staff/enquiries"),
    ("http:/evil.example", "/staff/enquiries"),
    ("javascript:alert(1)", "/staff/enquiries"),
    ("/\t/evil.example", "/staff/enquiries"),
    (" //evil.example", "/staff/enquiries"),
    ("", "/staff/enquiries"),
])
def test_next_is_followed_only_to_a_path_on_this_site(app, client, make_user, target, expected):
    user_id = make_user()
    # `next` arrives in the query string of the login page and in the posted form.
    page = client.get("/login", query_string={"next": target})
    response = client.post("/login", query_string={"next": target}, data={
        "email": email_of(app, user_id), "password": PASSWORD, "next": target,
        "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == expected
    # The page never carries an unsafe target into its form.
    assert hidden_value(page.text, "next") == (target if expected == target else "")


def test_an_anonymous_visit_comes_back_after_login(app, client, make_user):
    user_id = make_user()
    response = client.get("/staff/enquiries?status=contacted")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/staff/enquiries?status%3Dcontacted"
    page = client.get(response.headers["Location"])
    assert 'value="/staff/enquiries?status=contacted"' in page.text
    answer = post_login(client, email_of(app, user_id), next="/staff/enquiries?status=contacted")
    assert answer.headers["Location"] == "/staff/enquiries?status=contacted"


def test_a_logged_in_visit_to_the_login_page_goes_to_the_inbox(client, make_user, login):
    login(client, make_user())
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/enquiries"


def test_the_stored_hash_is_argon2id(app, make_user):
    user_id = make_user()
    with app.app_context():
        stored = db.session.get(User, user_id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_hash_with_old_parameters_is_rehashed_at_login(app, client, make_user):
    user_id = make_user()
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user_id).password_hash = old
        db.session.commit()
    assert post_login(client, email_of(app, user_id)).status_code == 303
    with app.app_context():
        new = db.session.get(User, user_id).password_hash
    assert new != old and new.startswith("$argon2id$v=19$m=8,t=1,p=1$")


@pytest.mark.parametrize("password, ok", [
    ("x" * 11, False), ("x" * 12, True), ("x" * 128, True), ("x" * 129, False), ("", False), (None, False),
])
def test_password_length_is_12_to_128(app, password, ok):
    with app.app_context():
        if ok:
            assert create_user(email="len@investinaalborg.example", name="Len", role="manager",
                               password=password).password_hash.startswith("$argon2id$")
        else:
            with pytest.raises(AccountInvalid) as invalid:
                create_user(email="len@investinaalborg.example", name="Len", role="manager",
                            password=password)
            assert "password" in invalid.value.fields
    assert count(app, User) == (1 if ok else 0)


def test_a_128_character_password_logs_in(app, client, make_user):
    user_id = make_user(password="é" * 128)
    assert post_login(client, email_of(app, user_id), "é" * 128).status_code == 303


def test_audit_entries_hold_no_personal_data(app, client, make_user):
    user_id = make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    post_login(client, "helena.peyron@investinaalborg.example", "wrong password here")
    post_login(client, "helena.peyron@investinaalborg.example")
    with app.app_context():
        rows = db.session.execute(sa.select(AuditLog)).scalars().all()
        assert {r.action for r in rows} == {"user.created", "login.failed", "login"}
        for row in rows:
            values = " ".join(str(v) for v in (row.action, row.target_type, row.target_id, row.ip_address))
            assert "helena" not in values.lower() and "peyron" not in values.lower()
        failed = next(r for r in rows if r.action == "login.failed")
        assert failed.target_id == str(user_id) and failed.ip_address == "127.0.0.1"
        assert failed.created_at is not None
