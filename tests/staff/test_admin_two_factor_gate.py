"""In production (CRM_REQUIRE_ADMIN_2FA) an admin without TOTP reaches only enrolment and logout.

Walks the url_map, so that a staff or admin route added later is covered without a list here.
"""

import re

import pytest

from tests.helpers import csrf_token, make_enquiry, stored_counts
from tests.staff.test_two_factor import enrol

STAFF_PREFIXES = ("/staff", "/admin", "/account")
ENROLMENT = "/account/two-factor"


@pytest.fixture
def app(make_app):
    return make_app(CRM_REQUIRE_ADMIN_2FA=True)


def staff_routes(app):
    """(path, method) for every staff, admin and account route, path arguments filled in."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(STAFF_PREFIXES) or rule.rule == ENROLMENT:
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # an `any` converter: its first word
        path = re.sub(r"<(?:int:)?[^>]+>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield path, method


def test_every_staff_route_sends_an_admin_without_two_factor_to_enrolment(app, make_user, login):
    admin = app.test_client()
    login(admin, make_user(role="admin"))
    make_enquiry(app)
    token = csrf_token(admin, ENROLMENT)
    before = stored_counts(app)
    routes = list(staff_routes(app))
    assert ("/staff/enquiries", "GET") in routes and ("/admin/users/1/deactivate", "POST") in routes
    for path, method in routes:
        response = admin.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code in (302, 303), (path, method, response.status_code)
        assert response.headers["Location"] == ENROLMENT, (path, method)
    assert stored_counts(app) == before
    assert admin.get(ENROLMENT).status_code == 200
    assert admin.post("/logout", data={"csrf_token": token}).status_code == 303


def test_after_enrolment_the_admin_reaches_everything(app, make_user, login):
    admin = app.test_client()
    login(admin, make_user(role="admin"))
    enrol(app, admin)
    assert admin.get("/staff/enquiries").status_code == 200
    assert admin.get("/admin/users").status_code == 200


def test_managers_are_not_held_at_enrolment(app, make_user, login):
    manager = app.test_client()
    login(manager, make_user())
    assert manager.get("/staff/enquiries").status_code == 200
    assert manager.get("/account/password").status_code == 200


def test_outside_production_admins_are_not_held(make_app, make_user, login):
    app = make_app()
    admin = app.test_client()
    login(admin, make_user(role="admin"))
    assert admin.get("/staff/enquiries").status_code == 200
    assert admin.get("/admin/users").status_code == 200
