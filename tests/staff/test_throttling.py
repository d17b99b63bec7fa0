"""Wrong secrets are throttled: login strictly per (account, address), loosely per account and
per address; the second step, the signed-in forms that ask a secret again, and reset links too."""

import re

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User, UserSession
from tests.helpers import audit_actions, count, csrf_token

PASSWORD = "correct horse battery staple"
NEW = "a brand new passphrase"


@pytest.fixture
def app(make_app):
    return make_app(CRM_LOGIN_RATE_LIMIT="3 per 15 minutes", CRM_LOGIN_ACCOUNT_RATE_LIMIT="6 per 15 minutes",
                    CRM_LOGIN_ADDRESS_RATE_LIMIT="5 per 15 minutes")


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def email_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def attempt(client, email, password):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def throttled_targets(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditLog.target_id).where(AuditLog.action == "secret.throttled")
                                  .order_by(AuditLog.id)).all()


def test_the_defaults():
    from config import Config

    assert Config.CRM_LOGIN_RATE_LIMIT == "10 per 15 minutes"
    assert Config.CRM_LOGIN_ACCOUNT_RATE_LIMIT == "100 per 15 minutes"
    assert Config.CRM_LOGIN_ADDRESS_RATE_LIMIT == "30 per 15 minutes"


def test_strangers_cannot_lock_the_owner_out(make_app, make_user):
    app = make_app()  # the default limits
    user_id = make_user()
    email = email_of(app, user_id)
    for n in range(20):
        assert attempt(client_at(app, f"198.51.100.{n}"), email, "wrong password here").status_code == 200
    assert attempt(client_at(app, "192.0.2.10"), email, PASSWORD).status_code == 303
    assert count(app, UserSession, UserSession.user_id == user_id) == 1


def test_one_address_guessing_one_account_is_stopped_after_the_strict_limit(app, make_user):
    user_id = make_user()
    email = email_of(app, user_id)
    attacker = client_at(app, "203.0.113.7")
    for _ in range(3):
        assert attempt(attacker, email, "wrong password here").status_code == 200
    response = attempt(attacker, email, PASSWORD)  # even the right password
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0 or "GMT" in response.headers["Retry-After"]
    assert "Too Many Requests" in response.text and "<html" in response.text
    assert response.headers["Content-Security-Policy"]
    assert count(app, UserSession) == 0
    assert throttled_targets(app) == [str(user_id)]
    # The owner, from their own address, is not affected.
    assert attempt(client_at(app, "192.0.2.10"), email, PASSWORD).status_code == 303


def test_guessing_spread_over_addresses_meets_the_account_limit_and_a_reset_lets_the_owner_in(app, make_user):
    user_id = make_user()
    email = email_of(app, user_id)
    for n in range(6):
        assert attempt(client_at(app, f"198.51.100.{n}"), email, "wrong password here").status_code == 200
    owner = client_at(app, "192.0.2.10")
    assert attempt(owner, email, PASSWORD).status_code == 429
    assert throttled_targets(app) == [str(user_id)]
    # OWASP: the owner gets in through a password reset, which starts the account's count afresh.
    assert owner.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(owner)}).status_code == 303
    with app.app_context():
        text = db.session.scalar(sa.select(OutboxMessage.text).where(OutboxMessage.kind == "password_reset"))
    path = re.search(r"http://[^/\s]+(/password/reset/\S+)", text).group(1)
    assert owner.post(path, data={"password": NEW, "confirm": NEW,
                                  "csrf_token": csrf_token(owner, path)}).status_code == 303
    assert attempt(owner, email, NEW).status_code == 303


def test_email_case_and_spaces_do_not_dodge_the_limits(app, make_user):
    email = email_of(app, make_user())
    for variant in (email.upper(), f" {email} ", email.title()):
        attempt(client_at(app, "198.51.100.1"), variant, "wrong password here")
    assert attempt(client_at(app, "198.51.100.1"), email, PASSWORD).status_code == 429


def test_failures_from_one_address_are_limited_across_accounts(app, make_user):
    emails = [email_of(app, make_user()) for _ in range(6)]
    attacker = client_at(app, "203.0.113.7")
    for email in emails[:5]:
        assert attempt(attacker, email, "wrong password here").status_code == 200
    assert attempt(attacker, emails[5], PASSWORD).status_code == 429
    assert attempt(attacker, "nobody@investinaalborg.example", PASSWORD).status_code == 429
    # The owner of the sixth account, from their own address, is not affected.
    assert attempt(client_at(app, "192.0.2.10"), emails[5], PASSWORD).status_code == 303


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


def signed_in(app, make_user, login):
    user_id = make_user()
    client = client_at(app, "192.0.2.10")
    login(client, user_id)
    return user_id, client


def password_hash(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def change(client, current):
    return client.post("/account/password", data={
        "current_password": current, "password": NEW, "confirm": NEW,
        "csrf_token": csrf_token(client, "/account/password")})


def test_a_stolen_session_cannot_guess_the_current_password(app, make_user, login):
    user_id, thief = signed_in(app, make_user, login)
    before = password_hash(app, user_id)
    for _ in range(3):
        assert change(thief, "not the password").status_code == 422
    assert change(thief, PASSWORD).status_code == 429  # the right one, too late
    assert password_hash(app, user_id) == before
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 1
    assert audit_actions(app)[-4:] == ["password.change_failed"] * 3 + ["secret.throttled"]


def test_guesses_add_up_across_the_forms_that_ask_for_the_password(app, make_user, login):
    user_id, thief = signed_in(app, make_user, login)
    with app.app_context():
        db.session.get(User, user_id).totp_secret = "JBSWY3DPEHPK3PXP"
        db.session.commit()
    assert change(thief, "not the password").status_code == 422
    for expected in (422, 422, 429):
        response = thief.post("/account/two-factor/disable", data={
            "password": "not the password", "csrf_token": csrf_token(thief, "/account/password")})
        assert response.status_code == expected
    refused = thief.post("/account/two-factor/disable", data={
        "password": PASSWORD, "csrf_token": csrf_token(thief, "/account/password")})
    assert refused.status_code == 429
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret == "JBSWY3DPEHPK3PXP"
    assert audit_actions(app).count("2fa.disable_failed") == 2


def test_a_bad_new_password_is_no_wrong_secret(app, make_user, login):
    user_id, client = signed_in(app, make_user, login)
    for _ in range(5):
        response = client.post("/account/password", data={
            "current_password": PASSWORD, "password": "short", "confirm": "short",
            "csrf_token": csrf_token(client, "/account/password")})
        assert response.status_code == 422
    assert change(client, PASSWORD).status_code == 303


def test_wrong_enrolment_codes_are_throttled_and_audited(app, make_user, login):
    user_id, client = signed_in(app, make_user, login)
    for expected in (422, 422, 422, 429):
        response = client.post("/account/two-factor", data={
            "code": "000000", "csrf_token": csrf_token(client, "/account/password")})
        assert response.status_code == expected
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret is None
    assert audit_actions(app)[-4:] == ["2fa.enrol_failed"] * 3 + ["secret.throttled"]


def test_guessed_reset_links_are_throttled_per_address(app, make_user):
    email = email_of(app, make_user())
    guesser = client_at(app, "203.0.113.7")
    for n in range(5):
        assert guesser.get(f"/password/reset/guess{n}").status_code == 404
    assert guesser.get("/password/reset/guess5").status_code == 429
    assert guesser.get("/password/set/guess6").status_code == 429  # invitation links count too
    assert throttled_targets(app) == ["/password/reset/guess5", "/password/set/guess6"]
    # A person at another address with a real link is not affected.
    person = client_at(app, "192.0.2.10")
    person.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(person)})
    with app.app_context():
        text = db.session.scalar(sa.select(OutboxMessage.text))
    path = re.search(r"http://[^/\s]+(/password/reset/\S+)", text).group(1)
    assert person.get(path).status_code == 200
