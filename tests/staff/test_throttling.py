"""Failed logins are limited per account and per client address (CRM_LOGIN_RATE_LIMIT)."""

import pytest

from crm.extensions import db
from crm.staff.models import User, UserSession
from tests.helpers import count, csrf_token

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(make_app):
    return make_app(CRM_LOGIN_RATE_LIMIT="3 per 15 minutes")


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def email_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def attempt(client, email, password):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def test_the_limit_comes_from_the_contract_default():
    from config import Config

    assert Config.CRM_LOGIN_RATE_LIMIT == "10 per 15 minutes"


def test_failures_against_one_account_are_limited_from_any_address(app, make_user):
    email = email_of(app, make_user())
    for n in range(3):
        assert attempt(client_at(app, f"198.51.100.{n}"), email, "wrong password here").status_code == 200
    # The fourth try is refused, even with the right password, from yet another address.
    response = attempt(client_at(app, "198.51.100.99"), email, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0 or "GMT" in response.headers["Retry-After"]
    assert "Too Many Requests" in response.text and "<html" in response.text
    assert response.headers["Content-Security-Policy"]
    assert count(app, UserSession) == 0


def test_email_case_and_spaces_do_not_dodge_the_account_limit(app, make_user):
    email = email_of(app, make_user())
    for variant in (email.upper(), f" {email} ", email.title()):
        attempt(client_at(app, "198.51.100.1"), variant, "wrong password here")
    assert attempt(client_at(app, "198.51.100.2"), email, PASSWORD).status_code == 429


def test_failures_from_one_address_are_limited_across_accounts(app, make_user):
    emails = [email_of(app, make_user()) for _ in range(4)]
    attacker = client_at(app, "203.0.113.7")
    for email in emails[:3]:
        assert attempt(attacker, email, "wrong password here").status_code == 200
    assert attempt(attacker, emails[3], PASSWORD).status_code == 429
    assert attempt(attacker, "nobody@investinaalborg.example", PASSWORD).status_code == 429
    # The owner of the fourth account, from their own address, is not affected.
    assert attempt(client_at(app, "192.0.2.10"), emails[3], PASSWORD).status_code == 303


def test_someone_elses_failures_never_block_a_different_account(app, make_user):
    victim, other = email_of(app, make_user()), email_of(app, make_user())
    attacker = client_at(app, "203.0.113.7")
    for _ in range(5):
        attempt(attacker, victim, "wrong password here")
    assert attempt(attacker, victim, PASSWORD).status_code == 429
    assert attempt(client_at(app, "192.0.2.10"), other, PASSWORD).status_code == 303
    assert count(app, UserSession) == 1


def test_successful_logins_do_not_count(app, make_user):
    email = email_of(app, make_user())
    person = client_at(app, "192.0.2.10")
    for _ in range(6):
        assert attempt(person, email, PASSWORD).status_code == 303
        person.post("/logout", data={"csrf_token": csrf_token(person, "/staff/enquiries")})


def test_the_two_factor_step_is_limited_too(app, make_user):
    import pyotp

    from crm.core.db import utcnow

    user_id = make_user()
    with app.app_context():
        user = db.session.get(User, user_id)
        user.totp_secret = pyotp.random_base32()
        secret = user.totp_secret
        db.session.commit()
    person = client_at(app, "192.0.2.10")
    assert attempt(person, email_of(app, user_id), PASSWORD).status_code == 303
    for _ in range(3):
        answer = person.post("/login/two-factor", data={"code": "000000",
                                                        "csrf_token": csrf_token(person, "/login/two-factor")})
        assert answer.status_code == 200
    right = pyotp.TOTP(secret).at(utcnow())
    assert person.post("/login/two-factor", data={
        "code": right, "csrf_token": csrf_token(person, "/login/two-factor")}).status_code == 429
    assert count(app, UserSession) == 0


def test_password_reset_requests_are_limited_per_address(app, make_user):
    from crm.notifications.models import OutboxMessage

    email = email_of(app, make_user())
    person = client_at(app, "192.0.2.10")
    for _ in range(3):
        assert person.post("/password/forgot", data={
            "email": email, "csrf_token": csrf_token(person, "/password/forgot")}).status_code == 303
    assert person.post("/password/forgot", data={
        "email": "other@investinaalborg.example",
        "csrf_token": csrf_token(person, "/password/forgot")}).status_code == 429
    assert count(app, OutboxMessage) == 3
