"""Per-address rate limits on both public submission endpoints (CONTRACT §2, §3, §4)."""

from crm.core.models import Enquiry
from tests.enquiries.test_form import form_fields
from tests.helpers import count, valid_payload

URL = "/api/v1/enquiries"


def test_the_api_answers_429_with_retry_after_and_stores_nothing(make_app):
    app = make_app(CRM_PUBLIC_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for i in range(3):
        assert client.post(URL, json=valid_payload(email=f"p{i}@example.com")).status_code == 201
    response = client.post(URL, json=valid_payload(email="late@example.com"))
    assert response.status_code == 429
    assert response.is_json and response.json["error"] == "too_many_requests"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert count(app, Enquiry) == 3


def test_the_form_and_the_api_share_one_budget_per_address(make_app):
    app = make_app(CRM_PUBLIC_RATE_LIMIT="2 per minute")
    client = app.test_client()
    fields = form_fields(client)  # GETs are not counted
    assert client.post(URL, json=valid_payload()).status_code == 201
    assert client.post("/enquire", data={**fields, **valid_payload(), "consent": "y"}).status_code == 303
    blocked = client.post("/enquire", data={**fields, **valid_payload(), "consent": "y"})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert "<html" in blocked.get_data(as_text=True)  # the HTML error page, not JSON
    assert count(app, Enquiry) == 2
    assert client.get("/enquire").status_code == 200  # reading the form is never blocked


def test_a_spoofed_x_forwarded_for_does_not_reset_the_count(make_app):
    app = make_app(CRM_PUBLIC_RATE_LIMIT="2 per minute", CRM_TRUSTED_PROXIES=0)
    client = app.test_client()
    statuses = [client.post(URL, json=valid_payload(), headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                for i in range(3)]
    assert statuses == [201, 201, 429]
    assert count(app, Enquiry) == 2


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(make_app):
    app = make_app(CRM_PUBLIC_RATE_LIMIT="1 per minute", CRM_TRUSTED_PROXIES=1)
    client = app.test_client()

    def post_from(address):
        return client.post(URL, json=valid_payload(), headers={"X-Forwarded-For": address}).status_code

    assert post_from("198.51.100.1") == 201
    assert post_from("198.51.100.2") == 201
    assert post_from("198.51.100.1") == 429
    # Only the last hop is trusted: a client cannot choose its address by prepending one.
    assert post_from("203.0.113.9, 198.51.100.2") == 429
    assert count(app, Enquiry) == 2


def test_the_consent_records_the_address_the_proxy_saw(make_app):
    from crm.core.models import Consent
    from tests.helpers import all_rows

    app = make_app(CRM_TRUSTED_PROXIES=1)
    app.test_client().post(URL, json=valid_payload(), headers={"X-Forwarded-For": "203.0.113.7"})
    assert all_rows(app, Consent)[0].ip_address == "203.0.113.7"
