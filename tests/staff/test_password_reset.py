"""Password reset and invitation links: same answer for every email, signed, expiring, single use."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User, UserSession
from tests.helpers import audit_actions, count, csrf_token, hidden_value

NEW = "a brand new passphrase"


def email_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def password_hash(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def forgot(client, email):
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")})


def mailed_link(app, kind="password_reset"):
    with app.app_context():
        message = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                                     .order_by(OutboxMessage.id.desc())).first()
        path = re.search(r"http://127\.0\.0\.1:5000(/password/\S+)", message.text).group(1)
        assert path in message.html
        return message.subject, message.recipient, path


def set_password(client, path, password=NEW, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(client, "/password/forgot")})


@pytest.fixture
def manager(make_user):
    return make_user(email="helena.peyron@investinaalborg.example")


def test_forgot_answers_the_same_whoever_asks(app, manager, make_user):
    inactive = make_user()
    with app.app_context():
        db.session.get(User, inactive).active = False
        db.session.commit()
    answers = []
    for email in ("helena.peyron@investinaalborg.example", "nobody@investinaalborg.example",
                  email_of(app, inactive), "not an email", "HELENA.PEYRON@investinaalborg.example"):
        client = app.test_client()
        response = forgot(client, email)
        page = client.get("/login").text
        # The page's own token: one fetched by a later request may carry a later timestamp.
        answers.append((response.status_code, response.headers["Location"],
                        page.replace(hidden_value(page, "csrf_token"), "")))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][:2] == (303, "/login")
    # Only the two requests for the active account queued mail.
    with app.app_context():
        recipients = db.session.scalars(sa.select(OutboxMessage.recipient)).all()
    assert recipients == ["helena.peyron@investinaalborg.example"] * 2


def test_the_reset_email_says_password_and_links_once(app, client, manager):
    forgot(client, "helena.peyron@investinaalborg.example")
    subject, recipient, path = mailed_link(app)
    assert "password" in subject.lower() and recipient == "helena.peyron@investinaalborg.example"
    assert client.get(path).status_code == 200
    before = password_hash(app, manager)
    response = set_password(client, path)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert password_hash(app, manager) != before
    assert password_hash(app, manager).startswith("$argon2id$")
    assert "password.reset" in audit_actions(app)
    # Used once: the same link is refused now, and changes nothing.
    after = password_hash(app, manager)
    assert client.get(path).status_code == 404
    assert set_password(app.test_client(), path, "yet another passphrase").status_code == 404
    assert password_hash(app, manager) == after


def test_the_new_password_logs_in_and_the_old_one_does_not(app, client, manager):
    forgot(client, "helena.peyron@investinaalborg.example")
    set_password(client, mailed_link(app)[2])
    login = app.test_client()
    old = login.post("/login", data={"email": "helena.peyron@investinaalborg.example",
                                     "password": "correct horse battery staple", "csrf_token": csrf_token(login)})
    assert old.status_code == 200
    new = login.post("/login", data={"email": "helena.peyron@investinaalborg.example", "password": NEW,
                                     "csrf_token": csrf_token(login)})
    assert new.status_code == 303


def test_a_reset_ends_every_session_of_the_user(app, manager, login):
    laptop = app.test_client()
    login(laptop, manager)
    stolen = laptop.get_cookie("session").value
    forgot(app.test_client(), "helena.peyron@investinaalborg.example")
    set_password(app.test_client(), mailed_link(app)[2])
    assert laptop.get("/staff/enquiries").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/staff/enquiries").status_code == 302
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 0


def test_an_expired_link_is_refused(app, client, manager):
    start = utcnow()
    with freeze_time(start):
        forgot(client, "helena.peyron@investinaalborg.example")
    path = mailed_link(app)[2]
    before = password_hash(app, manager)
    with freeze_time(start + timedelta(minutes=59)):
        assert client.get(path).status_code == 200
    with freeze_time(start + timedelta(minutes=61)):
        assert client.get(path).status_code == 404
        assert set_password(client, path).status_code == 404
    assert password_hash(app, manager) == before


@pytest.mark.parametrize("mangle", [
    lambda path: path[:-2] + ("AA" if not path.endswith("AA") else "BB"),
    lambda path: "/password/reset/" + "x" * 40,
    lambda path: "/password/reset/" + path.rsplit("/", 1)[1].split(".")[0] + ".forged.sig",
    lambda path: path.replace("/password/reset/", "/password/set/"),  # a reset token is no invitation
])
def test_a_forged_link_is_refused(app, client, manager, mangle):
    forgot(client, "helena.peyron@investinaalborg.example")
    path = mangle(mailed_link(app)[2])
    before = password_hash(app, manager)
    assert client.get(path).status_code == 404
    assert set_password(client, path).status_code == 404
    assert password_hash(app, manager) == before


def test_a_link_of_a_deactivated_account_is_refused(app, client, manager):
    forgot(client, "helena.peyron@investinaalborg.example")
    with app.app_context():
        db.session.get(User, manager).active = False
        db.session.commit()
    assert client.get(mailed_link(app)[2]).status_code == 404


@pytest.mark.parametrize("password, confirm", [("short", "short"), ("x" * 129, "x" * 129), (NEW, "different one here")])
def test_a_bad_new_password_changes_nothing(app, client, manager, password, confirm):
    forgot(client, "helena.peyron@investinaalborg.example")
    path = mailed_link(app)[2]
    before = password_hash(app, manager)
    assert set_password(client, path, password, confirm).status_code == 422
    assert password_hash(app, manager) == before
    assert set_password(client, path).status_code == 303  # the link still works after a typo


def test_an_admin_invites_a_person_who_sets_a_password_and_logs_in(app, make_user, login):
    admin = app.test_client()
    login(admin, make_user(role="admin"))
    response = admin.post("/admin/users/invite", data={
        "email": "New.Person@investinaalborg.example", "name": "New Person", "title": "Investment Manager",
        "role": "manager", "sectors": ["medtech", "robotics"], "topics": ["talent"],
        "languages": ["en", "da"], "csrf_token": csrf_token(admin, "/admin/users/invite")})
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new.person@investinaalborg.example"))
        assert (user.password_hash, user.role) == (None, "manager")
        assert (user.sectors, user.topics, user.languages) == (["medtech", "robotics"], ["talent"],
                                                               ["en", "da"])
    subject, recipient, path = mailed_link(app, "staff_invite")
    assert recipient == "new.person@investinaalborg.example" and path.startswith("/password/set/")
    person = app.test_client()
    assert person.get(path).status_code == 200
    assert set_password(person, path).status_code == 303
    assert set_password(person, path, "another passphrase!!").status_code == 404  # single use
    answer = person.post("/login", data={"email": "new.person@investinaalborg.example", "password": NEW,
                                         "csrf_token": csrf_token(person)})
    assert answer.status_code == 303
    assert {"user.invited", "user.invite_accepted", "login"} <= set(audit_actions(app))
