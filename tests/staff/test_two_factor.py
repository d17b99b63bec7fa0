"""TOTP enrolment with a QR code, the second login step, recovery codes, and admins' duty."""

import re

import pyotp
import pytest
import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.staff.models import RecoveryCode, User, UserSession
from tests.helpers import audit_actions, count, csrf_token, hidden_value

PASSWORD = "correct horse battery staple"


def enrol(app, client):
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    response = client.post("/account/two-factor", data={
        "code": pyotp.TOTP(secret).at(utcnow()), "csrf_token": hidden_value(page.text, "csrf_token")})
    assert response.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", response.text)
    return secret, codes


def password_step(client, app, user_id):
    with app.app_context():
        email = db.session.get(User, user_id).email
    return client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)})


def second_step(client, code):
    return client.post("/login/two-factor", data={"code": code, "csrf_token": csrf_token(client, "/password/forgot")})


def test_enrolment_shows_a_qr_code_and_needs_a_right_code(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    page = client.get("/account/two-factor")
    assert "<svg" in page.text and "<script" not in page.text and "style=" not in page.text
    wrong = client.post("/account/two-factor", data={"code": "123456",
                                                     "csrf_token": csrf_token(client, "/account/password")})
    assert wrong.status_code == 422
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret is None
    secret, codes = enrol(app, client)
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret == secret
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    assert "2fa.enabled" in audit_actions(app)


def test_the_secret_stays_the_same_while_enrolling(client, make_user, login):
    login(client, make_user())
    first = client.get("/account/two-factor").text
    again = client.get("/account/two-factor").text
    pattern = r'class="totp-secret">([A-Z2-7]+)<'
    assert re.search(pattern, first).group(1) == re.search(pattern, again).group(1)


@pytest.fixture
def enrolled(app, make_user, login):
    user_id = make_user()
    client = app.test_client()
    login(client, user_id)
    secret, codes = enrol(app, client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/staff/enquiries")})
    with app.app_context():  # let the enrolment code's time step pass for the login tests
        db.session.get(User, user_id).totp_last_counter -= 2
        db.session.commit()
    return user_id, secret, codes


def test_login_with_totp_takes_two_steps(app, client, enrolled):
    user_id, secret, _ = enrolled
    first = password_step(client, app, user_id)
    assert first.status_code == 303 and first.headers["Location"] == "/login/two-factor"
    assert client.get("/staff/enquiries").status_code == 302  # not logged in yet
    assert second_step(client, "000000").status_code == 200
    assert client.get("/staff/enquiries").status_code == 302
    code = pyotp.TOTP(secret).at(utcnow())
    done = second_step(client, code)
    assert done.status_code == 303 and done.headers["Location"] == "/staff/enquiries"
    assert client.get("/staff/enquiries").status_code == 200
    # The same code cannot be used again, by anybody.
    other = app.test_client()
    password_step(other, app, user_id)
    assert second_step(other, code).status_code == 200
    assert other.get("/staff/enquiries").status_code == 302
    assert "login.2fa_failed" in audit_actions(app)


def test_a_recovery_code_works_once(app, enrolled):
    user_id, _, codes = enrolled
    client = app.test_client()
    password_step(client, app, user_id)
    assert second_step(client, codes[0].upper()).status_code == 303
    assert client.get("/staff/enquiries").status_code == 200
    again = app.test_client()
    password_step(again, app, user_id)
    assert second_step(again, codes[0]).status_code == 200
    assert count(app, RecoveryCode, RecoveryCode.used_at.is_not(None)) == 1


def test_the_second_step_needs_the_first(app, client, enrolled):
    user_id, secret, _ = enrolled
    response = second_step(client, pyotp.TOTP(secret).at(utcnow()))
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 0


def test_the_first_step_expires_after_five_minutes(app, client, enrolled):
    from datetime import timedelta

    from freezegun import freeze_time

    user_id, secret, _ = enrolled
    start = utcnow()
    with freeze_time(start):
        password_step(client, app, user_id)
    with freeze_time(start + timedelta(minutes=6)):
        response = second_step(client, pyotp.TOTP(secret).at(utcnow()))
    assert response.headers["Location"] == "/login"
    assert client.get("/staff/enquiries").status_code == 302


def test_disabling_needs_the_password(app, client, enrolled, login):
    user_id, secret, _ = enrolled
    password_step(client, app, user_id)
    second_step(client, pyotp.TOTP(secret).at(utcnow()))
    wrong = client.post("/account/two-factor/disable", data={"password": "wrong password here",
                                                             "csrf_token": csrf_token(client, "/account/password")})
    assert wrong.status_code == 422
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret == secret
    right = client.post("/account/two-factor/disable", data={"password": PASSWORD,
                                                             "csrf_token": csrf_token(client, "/account/password")})
    assert right.status_code == 303
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret is None
    assert count(app, RecoveryCode) == 0


def test_admins_must_enrol_before_admin_pages_when_required(make_app, make_user, login):
    app = make_app(CRM_REQUIRE_ADMIN_2FA=True)
    admin_id = make_user(role="admin")
    client = app.test_client()
    login(client, admin_id)
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    # Every staff page, not only /admin/ (test_admin_two_factor_gate.py walks them all).
    assert client.get("/staff/enquiries").headers["Location"] == "/account/two-factor"
    enrol(app, client)
    assert client.get("/admin/users").status_code == 200
    refused = client.post("/account/two-factor/disable", data={
        "password": PASSWORD, "csrf_token": csrf_token(client, "/account/password")})
    assert refused.status_code == 303
    with app.app_context():
        assert db.session.get(User, admin_id).totp_secret is not None


def test_production_requires_admin_two_factor():
    from config import Config, ProductionConfig

    assert ProductionConfig.CRM_REQUIRE_ADMIN_2FA is True
    assert Config.CRM_REQUIRE_ADMIN_2FA is False
