"""The public HTML form, CONTRACT §4."""

import re

import pytest
import sqlalchemy as sa

from crm.core.models import Consent, Enquiry
from crm.extensions import db
from tests.helpers import NOTHING_STORED, all_rows, hidden_value, stored_counts, valid_payload


def form_fields(client):
    """GET the form and return the hidden fields a browser would post back."""
    html = client.get("/enquire").get_data(as_text=True)
    return {name: hidden_value(html, name) for name in ("csrf_token", "policy_version", "started")}


def form_post(client, **changes):
    data = {**form_fields(client), **valid_payload(), "consent": "y", "website": ""}
    data.update({k: v for k, v in changes.items() if v is not ...})
    for key in [k for k, v in changes.items() if v is ...]:
        data.pop(key, None)
    return client.post("/enquire", data=data)


def test_the_form_has_every_field_of_the_api_and_the_guards(client):
    response = client.get("/enquire")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("name", "email", "company", "phone", "country", "sector", "topic", "message",
                 "language", "consent", "policy_version", "csrf_token", "website"):
        assert f'name="{name}"' in html, name
    consent = re.search(r'<input[^>]*name="consent"[^>]*>', html).group(0)
    assert 'type="checkbox"' in consent and "checked" not in consent
    assert hidden_value(html, "policy_version") == "2026-01"
    assert "Privacy policy for enquiries to Invest in Aalborg" in html
    # Every visible field has a label tied to it.
    for field in ("name", "email", "company", "phone", "country", "sector", "topic", "message", "consent"):
        assert f'<label for="{field}"' in html, field


def test_a_valid_form_redirects_to_the_thanks_page_with_the_reference(app, client):
    response = form_post(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/enquire/thanks")
    enquiry = all_rows(app, Enquiry)[0]
    assert enquiry.source == "form"
    consent = all_rows(app, Consent)[0]
    assert consent.method == "form" and consent.ip_address == "127.0.0.1"

    thanks = client.get("/enquire/thanks").get_data(as_text=True)
    assert enquiry.reference in thanks
    for personal in ("Ada", "ada@example.com", "Nordic Implants", "+45 20 12 34 56"):
        assert personal not in thanks


def test_an_invalid_form_answers_422_with_errors_next_to_fields_and_input_kept(app, client):
    response = form_post(client, email="not-an-email", country="XX", consent=..., name="Søren Ærø")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="email-error">', html)
    assert re.search(r'<input[^>]*aria-describedby="[^"]*email-error[^"]*"[^>]*name="email"', html) or \
        re.search(r'<input[^>]*name="email"[^>]*aria-describedby="[^"]*email-error', html)
    assert 'id="country-error"' in html and 'id="consent-error"' in html
    assert 'value="Søren Ærø"' in html and 'value="not-an-email"' in html  # input kept
    assert 'class="error-summary"' in html
    assert stored_counts(app) == NOTHING_STORED


def test_a_stale_policy_version_on_the_form_is_an_error(app, client):
    response = form_post(client, policy_version="2020-01")
    assert response.status_code == 422
    assert "privacy policy has changed" in response.get_data(as_text=True)
    assert stored_counts(app) == NOTHING_STORED


def test_output_is_escaped(app, client):
    response = form_post(client, name="<script>alert(1)</script>", email="bad")
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("token", [..., "", "forged-token"], ids=["missing", "empty", "forged"])
def test_a_missing_or_bad_csrf_token_answers_400_and_stores_nothing(app, client, token):
    response = form_post(client, csrf_token=token)
    assert response.status_code == 400
    assert stored_counts(app) == NOTHING_STORED


def test_root_redirects_to_the_form_and_privacy_shows_the_policy(client):
    root = client.get("/")
    assert root.status_code in (301, 302, 303, 308) and root.headers["Location"].endswith("/enquire")
    privacy = client.get("/privacy")
    assert privacy.status_code == 200
    assert "Version 2026-01" in privacy.get_data(as_text=True)


def test_the_form_in_danish_sends_a_danish_acknowledgement(app, client):
    form_post(client, language="da")
    from crm.core.models import OutboxMessage

    with app.app_context():
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert ack.subject.startswith("Vi har modtaget din henvendelse AAL-")
        assert "Kære Ada Jensen" in ack.text and "Kære Ada Jensen" in ack.html
