"""Security headers on every response, in every environment (CONTRACT §5)."""

import pytest

from config import ProductionConfig
from tests.helpers import valid_payload


@pytest.mark.parametrize("method,path", [("GET", "/enquire"), ("GET", "/privacy"), ("GET", "/healthz"),
                                         ("GET", "/api/v1/options"), ("GET", "/no-such-page"),
                                         ("POST", "/api/v1/enquiries")])
def test_every_response_carries_the_security_headers(client, method, path):
    response = client.open(path, method=method, json=valid_payload() if method == "POST" else None)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # development and testing


def test_production_adds_hsts_and_secure_cookies(make_app):
    app = make_app(HSTS=ProductionConfig.HSTS, SESSION_COOKIE_SECURE=ProductionConfig.SESSION_COOKIE_SECURE)
    response = app.test_client().get("/enquire")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_error_pages_show_no_internals(client):
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Not Found" in html and "Traceback" not in html


@pytest.mark.expect_traceback
def test_an_unexpected_error_answers_500_without_internals(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret-internal-detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret-internal-detail" not in html and "Traceback" not in html
    assert "Internal Server Error" in html
