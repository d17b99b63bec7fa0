"""/admin/users: invitations, edits, deactivation, and the last active admin."""

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User
from tests.helpers import audit_actions, count, csrf_token


@pytest.fixture
def admin(app, make_user, login):
    admin_id = make_user(role="admin")
    client = app.test_client()
    login(client, admin_id)
    return admin_id, client


def state(app, user_id):
    with app.app_context():
        u = db.session.get(User, user_id)
        return u.role, u.active, u.title, u.sectors, u.topics, u.away_until, u.languages


def post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def test_the_list_shows_every_account(app, admin, make_user):
    make_user(name="Helena Peyron", title="Senior Investment Manager", languages=["en", "da"])
    page = admin[1].get("/admin/users")
    assert page.status_code == 200
    assert "Helena Peyron" in page.text and "Senior Investment Manager" in page.text
    assert "Speaks EN, DA" in page.text


def test_an_admin_edits_role_title_coverage_languages_and_away_date(app, admin, make_user):
    manager = make_user()
    form = admin[1].get(f"/admin/users/{manager}")
    assert 'name="languages" type="checkbox" value="da"' in form.text
    response = post(admin[1], f"/admin/users/{manager}", role="admin", title="Head of Medtech",
                    sectors=["medtech", "healthit"], topics=["clinical_trials"], languages=["da"],
                    away_until="2027-01-15")
    assert response.status_code == 303
    role, active, title, sectors, topics, away, languages = state(app, manager)
    assert (role, title, sectors, topics, str(away), languages) == (
        "admin", "Head of Medtech", ["medtech", "healthit"], ["clinical_trials"], "2027-01-15", ["da"])
    assert audit_actions(app)[-2:] == ["user.role_changed", "user.updated"]


@pytest.mark.parametrize("data", [
    {"role": "superuser"},
    {"role": "manager", "sectors": ["medtech", "mining"]},
    {"role": "manager", "topics": ["<script>"]},
    {"role": "manager", "languages": ["da", "klingon"]},
    {"role": "manager", "away_until": "next week"},
    {"role": "manager", "title": "x" * 201},
])
def test_bad_edits_change_nothing(app, admin, make_user, data):
    manager = make_user(title="Investment Manager")
    before = state(app, manager)
    assert post(admin[1], f"/admin/users/{manager}", **data).status_code == 422
    assert state(app, manager) == before


@pytest.mark.parametrize("data", [
    {"email": "not-an-email", "name": "X", "role": "manager"},
    {"email": "manager@investinaalborg.example", "name": "", "role": "manager"},
    {"email": "new@investinaalborg.example", "name": "X", "role": "root"},
    {"email": "new@investinaalborg.example", "name": "X", "role": "manager", "sectors": ["oil"]},
    {"email": "new@investinaalborg.example", "name": "X", "role": "manager", "languages": ["xx"]},
    {"email": "ADMIN1@investinaalborg.example", "name": "Duplicate", "role": "manager"},
])
def test_bad_invitations_store_and_send_nothing(app, admin, data):
    assert post(admin[1], "/admin/users/invite", **data).status_code == 422
    assert count(app, User) == 1
    assert count(app, OutboxMessage) == 0


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, admin):
    admin_id, client = admin
    before = state(app, admin_id)
    demote = post(client, f"/admin/users/{admin_id}", role="manager", title="")
    assert demote.status_code == 422 and "last active admin" in demote.text
    deactivate = post(client, f"/admin/users/{admin_id}/deactivate")
    assert deactivate.status_code == 303
    assert state(app, admin_id) == before
    assert client.get("/admin/users").status_code == 200


def test_an_inactive_admin_does_not_count_as_the_other_admin(app, admin, make_user):
    admin_id, client = admin
    other = make_user(role="admin")
    assert post(client, f"/admin/users/{other}/deactivate").status_code == 303
    assert post(client, f"/admin/users/{admin_id}", role="manager").status_code == 422
    assert state(app, admin_id)[:2] == ("admin", True)


def test_with_two_admins_one_may_be_demoted(app, admin, make_user):
    other = make_user(role="admin")
    assert post(admin[1], f"/admin/users/{other}", role="manager").status_code == 303
    assert state(app, other)[0] == "manager"
    assert post(admin[1], f"/admin/users/{admin[0]}", role="manager").status_code == 422


def test_an_admin_demoted_by_another_loses_admin_pages_at_once(app, admin, make_user, login):
    other = make_user(role="admin")
    other_client = app.test_client()
    login(other_client, other)
    assert other_client.get("/admin/users").status_code == 200
    post(admin[1], f"/admin/users/{other}", role="manager")
    assert other_client.get("/admin/users").status_code == 403


def test_unknown_accounts_answer_404(admin):
    assert admin[1].get("/admin/users/424242").status_code == 404
    assert post(admin[1], "/admin/users/424242/deactivate").status_code == 404
    assert admin[1].get("/admin/users/not-a-number").status_code == 404


def test_the_cli_still_creates_the_first_admin(app, runner):
    result = runner.invoke(args=["crm", "create-user", "--email", "first@investinaalborg.example",
                                 "--name", "First Admin", "--role", "admin",
                                 "--password", "correct horse battery staple"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "first@investinaalborg.example"))
        assert user.is_admin and user.password_hash.startswith("$argon2id$")
    client = app.test_client()
    response = client.post("/login", data={"email": "first@investinaalborg.example",
                                           "password": "correct horse battery staple",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert client.get("/admin/users").status_code == 200
