"""The embeddable form: no site chrome, framed only by CRM_CORS_ORIGINS; CORS only for them."""

from crm.core.models import Enquiry
from tests.enquiries.test_form import form_fields
from tests.helpers import count, valid_payload

ALLOWED = "https://www.investinaalborg.example"


def test_the_embed_has_no_site_chrome_and_posts_back_to_itself(make_app):
    client = make_app(CRM_CORS_ORIGINS=[ALLOWED]).test_client()
    html = client.get("/enquire?embed=1").get_data(as_text=True)
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert 'action="/enquire?embed=1"' in html
    assert 'target="_blank"' in html  # the policy opens outside the frame
    full = client.get("/enquire").get_data(as_text=True)
    assert 'class="site-header"' in full and 'action="/enquire"' in full


def test_only_the_configured_origins_may_frame_the_embed(make_app):
    client = make_app(CRM_CORS_ORIGINS=[ALLOWED, "https://partner.example:8443"]).test_client()
    embed = client.get("/enquire?embed=1")
    csp = embed.headers["Content-Security-Policy"]
    assert f"frame-ancestors {ALLOWED} https://partner.example:8443" in csp
    assert "X-Frame-Options" not in embed.headers  # DENY would contradict the allow-list
    for path in ("/enquire", "/privacy", "/enquire/thanks", "/login", "/privacy?embed=1"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_without_configured_origins_nobody_may_frame_it(make_app):
    response = make_app(CRM_CORS_ORIGINS=[]).test_client().get("/enquire?embed=1")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_malformed_origin_cannot_add_directives(make_app):
    client = make_app(CRM_CORS_ORIGINS=["https://ok.example", "https://x.example; script-src *"]).test_client()
    csp = client.get("/enquire?embed=1").headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://ok.example") and "script-src *" not in csp


def test_the_embedded_thanks_page_stays_embeddable(make_app):
    app = make_app(CRM_CORS_ORIGINS=[ALLOWED])
    client = app.test_client()
    fields = form_fields(client)
    response = client.post("/enquire?embed=1", data={**fields, **valid_payload(), "consent": "y"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/enquire/thanks?embed=1")
    thanks = client.get("/enquire/thanks?embed=1")
    assert f"frame-ancestors {ALLOWED}" in thanks.headers["Content-Security-Policy"]
    assert 'class="site-header"' not in thanks.get_data(as_text=True)
    assert count(app, Enquiry) == 1


def test_cors_answers_only_the_configured_origins(make_app):
    client = make_app(CRM_CORS_ORIGINS=[ALLOWED]).test_client()
    allowed = client.get("/api/v1/options", headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    preflight = client.options("/api/v1/enquiries", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Idempotency-Key"})
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    other = client.get("/api/v1/options", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    # Only the JSON API: the HTML form never answers CORS.
    page = client.get("/enquire", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_no_cors_at_all_without_configured_origins(make_app):
    client = make_app(CRM_CORS_ORIGINS=[]).test_client()
    response = client.get("/api/v1/options", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers
