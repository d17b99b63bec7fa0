"""Every state-changing form refuses a missing or forged CSRF token (400) and changes nothing."""

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.enquiries.models import Activity
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import RecoveryCode, User, UserSession
from crm.staff.tokens import make_token
from tests.helpers import csrf_token, make_enquiry


def snapshot(app):
    """Everything a staff form could change."""
    with app.app_context():
        users = db.session.execute(sa.select(User.id, User.role, User.active, User.title, User.password_hash,
                                             User.totp_secret, User.away_until).order_by(User.id)).all()
        sessions = db.session.execute(sa.select(UserSession.id, UserSession.revoked_at)).all()
        others = [db.session.scalar(sa.select(sa.func.count()).select_from(m))
                  for m in (Activity, OutboxMessage, RecoveryCode)]
        assignees = db.session.execute(sa.text("SELECT id, assignee_id FROM enquiries ORDER BY id")).all()
        actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.action != "access.denied")).all()
    return users, sessions, others, assignees, actions


# (url, form data, the status with the session's own token)
FORMS = [
    ("/login", lambda w: {"email": w["admin_email"], "password": "correct horse battery staple"}, 303),
    ("/logout", lambda w: {}, 303),
    ("/password/forgot", lambda w: {"email": w["admin_email"]}, 303),
    ("/password/reset/{reset}", lambda w: {"password": "a brand new passphrase",
                                           "confirm": "a brand new passphrase"}, 303),
    ("/password/set/{invite}", lambda w: {"password": "a brand new passphrase",
                                          "confirm": "a brand new passphrase"}, 303),
    ("/account/password", lambda w: {"current_password": "correct horse battery staple",
                                     "password": "a brand new passphrase", "confirm": "a brand new passphrase"}, 303),
    ("/account/two-factor", lambda w: {"code": "123456"}, 422),  # a wrong code, past the CSRF check
    ("/account/two-factor/disable", lambda w: {"password": "correct horse battery staple"}, 303),
    ("/login/two-factor", lambda w: {"code": "123456"}, 303),  # no password step: back to /login
    ("/admin/users/invite", lambda w: {"email": "new@investinaalborg.example", "name": "New",
                                       "role": "manager"}, 303),
    ("/admin/users/{manager}", lambda w: {"role": "admin", "title": "Changed"}, 303),
    ("/admin/users/{manager}/deactivate", lambda w: {}, 303),
    ("/admin/users/{inactive}/reactivate", lambda w: {}, 303),
    ("/staff/enquiries/{reference}/assign", lambda w: {"assignee_id": w["manager"]}, 303),
    ("/admin/rules/new", lambda w: {"user_id": w["manager"], "sectors": "biotech", "priority": "5"}, 303),
    ("/admin/users/{manager}/reassign", lambda w: {}, 303),
    ("/account/away", lambda w: {"away_until": "2030-01-01"}, 303),
]


@pytest.mark.parametrize("template, data, accepted", FORMS, ids=[f[0] for f in FORMS])
def test_state_changing_forms_refuse_a_bad_csrf_token(app, make_user, login, template, data, accepted):
    admin = make_user(role="admin")
    manager, invited, inactive = make_user(), make_user(), make_user()
    with app.app_context():
        db.session.get(User, invited).password_hash = None
        db.session.get(User, inactive).active = False
        db.session.commit()
        world = {"admin_email": db.session.get(User, admin).email, "manager": manager, "inactive": inactive,
                 "reset": make_token(db.session.get(User, admin), "password-reset"),
                 "invite": make_token(db.session.get(User, invited), "invite"),
                 "reference": make_enquiry(app)}
    client = app.test_client()
    login(client, admin)
    before = snapshot(app)
    form = data(world)
    for token in (None, "", "forged-token", csrf_token(app.test_client())):  # the last: another session's
        if token is not None:
            form["csrf_token"] = token
        response = client.post(template.format(**world), data=form)
        assert response.status_code == 400
        assert "The form has expired" in response.text
        assert snapshot(app) == before
    assert client.get("/staff/enquiries").status_code == 200  # still logged in (logout refused too)
    # The same form with the session's token is accepted past the CSRF check.
    form["csrf_token"] = csrf_token(client)
    assert client.post(template.format(**world), data=form).status_code == accepted
