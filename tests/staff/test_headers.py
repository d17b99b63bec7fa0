"""Security headers on every response, no-store on private pages, error pages without internals."""

import pytest


@pytest.fixture
def admin_client(app, make_user, login):
    client = app.test_client()
    login(client, make_user(role="admin"))
    return client


@pytest.mark.parametrize("path, status", [
    ("/login", 302), ("/password/forgot", 200), ("/staff/enquiries", 200), ("/admin/users", 200),
    ("/account/password", 200), ("/staff/enquiries/AAL-0000-0000", 404), ("/no/such/page", 404),
    ("/staff/enquiries?page=x", 400),
])
def test_security_headers(admin_client, path, status):
    response = admin_client.get(path)
    assert response.status_code == status
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # only in production
    if path.startswith(("/staff", "/admin", "/login", "/password", "/account")):
        assert response.headers["Cache-Control"] == "no-store"


def test_a_manager_on_an_admin_page_gets_the_403_page_in_the_layout(app, make_user, login):
    client = app.test_client()
    login(client, make_user())
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Forbidden" in response.text and 'class="site-header"' in response.text


@pytest.mark.expect_traceback
def test_a_500_shows_no_internals(make_app, make_user, login):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/staff/boom")
    def boom():
        raise RuntimeError("secret internals: password_hash=$argon2id$")

    response = app.test_client().get("/staff/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert 'class="site-header"' in response.text
    assert response.headers["Content-Security-Policy"]
