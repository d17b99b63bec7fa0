"""Server-side sessions: fresh at login, ended by logout, password change, reset, deactivation,
idle and absolute timeouts; cookie flags."""

from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.staff.models import User, UserSession
from tests.conftest import config_class
from tests.helpers import audit_actions, count, csrf_token, make_enquiry

SESSION_COOKIE = "session"


def cookie(client):
    return client.get_cookie(SESSION_COOKIE).value


def replay(app, value):
    """A new browser that presents a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, value)
    return thief


def test_login_issues_a_new_session(app, client, make_user, login):
    user_id = make_user()
    client.get("/login")
    before = cookie(client)
    login(client, user_id)
    after = cookie(client)
    assert before != after
    # The pre-login cookie is not logged in.
    assert replay(app, before).get("/staff/enquiries").status_code == 302
    # Each login is its own server-side session.
    second = app.test_client()
    login(second, user_id)
    with app.app_context():
        hashes = db.session.scalars(sa.select(UserSession.token_hash)).all()
    assert len(set(hashes)) == 2


def test_a_cookie_copied_before_logout_is_refused_afterwards(app, client, make_user, login):
    login(client, make_user())
    stolen = cookie(client)
    assert replay(app, stolen).get("/staff/enquiries").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/staff/enquiries")})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/staff/enquiries").status_code == 302
    thief = replay(app, stolen)
    answer = thief.get("/staff/enquiries")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert thief.get("/account/password").status_code == 302
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 0
    assert "logout" in audit_actions(app)


def test_logout_is_post_only(client, make_user, login):
    login(client, make_user())
    assert client.get("/logout").status_code == 405
    assert client.get("/staff/enquiries").status_code == 200


def test_logout_of_one_session_leaves_the_others(app, make_user, login):
    user_id = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user_id)
    login(phone, user_id)
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/staff/enquiries")})
    assert laptop.get("/staff/enquiries").status_code == 302
    assert phone.get("/staff/enquiries").status_code == 200


def set_session_times(app, user_id, *, created_ago, seen_ago):
    with app.app_context():
        now = utcnow()
        db.session.execute(sa.update(UserSession).where(UserSession.user_id == user_id).values(
            created_at=now - created_ago, last_seen_at=now - seen_ago))
        db.session.commit()


def test_a_session_idle_for_29_minutes_lives(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    set_session_times(app, user_id, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=29))
    assert client.get("/staff/enquiries").status_code == 200
    with app.app_context():
        seen = db.session.scalar(sa.select(UserSession.last_seen_at))
    assert utcnow() - seen < timedelta(minutes=1)  # the visit counted as activity


def test_a_session_idle_for_31_minutes_is_over(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    set_session_times(app, user_id, created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=31))
    assert client.get("/staff/enquiries").status_code == 302


def test_a_session_ends_12_hours_after_login_even_when_busy(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    set_session_times(app, user_id, created_ago=timedelta(hours=11, minutes=58), seen_ago=timedelta(0))
    assert client.get("/staff/enquiries").status_code == 200
    set_session_times(app, user_id, created_ago=timedelta(hours=12, minutes=1), seen_ago=timedelta(0))
    assert client.get("/staff/enquiries").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    set_session_times(app, user_id, created_ago=timedelta(minutes=5), seen_ago=timedelta(seconds=30))
    with app.app_context():
        before = db.session.scalar(sa.select(UserSession.last_seen_at))
    client.get("/staff/enquiries")
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.last_seen_at)) == before


def test_deactivation_ends_the_sessions_at_once(app, make_user, login):
    admin_id, manager_id = make_user(role="admin"), make_user()
    admin, manager = app.test_client(), app.test_client()
    login(admin, admin_id)
    login(manager, manager_id)
    reference = make_enquiry(app, assignee_id=manager_id)
    assert manager.get(f"/staff/enquiries/{reference}").status_code == 200
    response = admin.post(f"/admin/users/{manager_id}/deactivate",
                          data={"csrf_token": csrf_token(admin, "/admin/users")})
    assert response.status_code == 303
    assert manager.get(f"/staff/enquiries/{reference}").status_code == 302
    assert count(app, UserSession, UserSession.user_id == manager_id,
                 UserSession.revoked_at.is_(None)) == 0
    assert "user.deactivated" in audit_actions(app)
    # Reactivating does not revive the old session.
    admin.post(f"/admin/users/{manager_id}/reactivate", data={"csrf_token": csrf_token(admin, "/admin/users")})
    assert manager.get("/staff/enquiries").status_code == 302


def test_a_deactivated_user_is_refused_even_if_a_session_row_survived(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert client.get("/staff/enquiries").status_code == 302


def test_a_password_change_ends_every_other_session(app, make_user, login):
    user_id = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user_id)
    login(phone, user_id)
    stolen = cookie(laptop)
    response = laptop.post("/account/password", data={
        "current_password": "correct horse battery staple", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase", "csrf_token": csrf_token(laptop, "/account/password")})
    assert response.status_code == 303
    assert laptop.get("/staff/enquiries").status_code == 200  # this browser goes on
    assert phone.get("/staff/enquiries").status_code == 302
    assert replay(app, stolen).get("/staff/enquiries").status_code == 302
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 1
    assert "password.changed" in audit_actions(app)


def test_a_wrong_current_password_changes_nothing(app, client, make_user, login):
    user_id = make_user()
    login(client, user_id)
    with app.app_context():
        before = db.session.get(User, user_id).password_hash
    for data in ({"current_password": "not my password!", "password": "a brand new passphrase",
                  "confirm": "a brand new passphrase"},
                 {"current_password": "correct horse battery staple", "password": "short",
                  "confirm": "short"},
                 {"current_password": "correct horse battery staple", "password": "a brand new passphrase",
                  "confirm": "another passphrase"}):
        token = csrf_token(client, "/account/password")
        response = client.post("/account/password", data={**data, "csrf_token": token})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.get(User, user_id).password_hash == before
    assert count(app, UserSession, UserSession.revoked_at.is_(None)) == 1


def test_session_cookie_flags(client, make_user, login):
    response = login(client, make_user())
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain http in development and tests


def test_session_cookie_is_secure_in_production(database_url):
    from config import ProductionConfig
    from crm import create_app

    config = config_class(database_url, **{k: getattr(ProductionConfig, k) for k in dir(ProductionConfig)
                                           if k.isupper() and k not in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")})
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    response = client.get("/login", base_url="https://crm.example")
    header = response.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
