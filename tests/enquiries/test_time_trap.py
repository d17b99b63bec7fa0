"""Nothing a person typed is ever lost (CONTRACT §4): the time trap, the honeypot, rate limits."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from crm.core.models import Consent, Enquiry
from tests.enquiries.test_form import form_fields
from tests.helpers import NOTHING_STORED, all_rows, count, hidden_value, stored_counts, valid_payload

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
SEND_AGAIN = "Please check your details and send again."
TYPED = {"name": "Søren Ærø", "email": "soren@example.com", "company": "Limfjord Robotics ApS",
         "phone": "+45 98 12 34 56", "message": "Vi overvejer en afdeling i Aalborg."}


def post(client, fields, **changes):
    data = {**fields, **valid_payload(**TYPED), "consent": "y", "website": ""}
    data.update({k: v for k, v in changes.items() if v is not ...})
    for key in [k for k, v in changes.items() if v is ...]:
        data.pop(key, None)
    return client.post("/enquire", data=data)


def fields_of(response):
    html = response.get_data(as_text=True)
    return {name: hidden_value(html, name) for name in ("csrf_token", "policy_version", "started")}


def assert_form_kept_input(response):
    html = response.get_data(as_text=True)
    for value in TYPED.values():
        assert value in html, value
    for name, value in (("country", "DK"), ("sector", "medtech"), ("topic", "establishment")):
        assert re.search(rf'<select[^>]*name="{name}".*?<option selected value="{value}"', html, re.S) or \
            re.search(rf'<select[^>]*name="{name}".*?<option value="{value}" selected', html, re.S), name


@pytest.fixture
def trapped_app(make_app):
    return make_app(CRM_FORM_MIN_SECONDS=3)


def test_a_post_sooner_than_the_minimum_gets_the_form_back_with_everything_typed(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        fields = form_fields(client)
        clock.tick(timedelta(seconds=1))
        fast = post(client, fields)
        assert fast.status_code == 422
        assert SEND_AGAIN in fast.get_data(as_text=True)
        assert 'class="error-summary"' in fast.get_data(as_text=True)
        assert "Thank you" not in fast.get_data(as_text=True)
        assert_form_kept_input(fast)
        assert stored_counts(trapped_app) == NOTHING_STORED
        # The re-rendered form still counts from the first time it was served: two seconds
        # later (three after the first GET) the same person's resend is accepted.
        clock.tick(timedelta(seconds=2))
        again = post(client, fields_of(fast))
        assert again.status_code == 303
        assert again.headers["Location"].endswith("/enquire/thanks")
    assert count(trapped_app, Enquiry) == 1


def test_fixing_an_error_and_resending_at_once_is_not_trapped(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        fields = form_fields(client)
        clock.tick(timedelta(seconds=20))
        forgot = post(client, fields, consent=...)
        assert forgot.status_code == 422
        assert 'id="consent-error"' in forgot.get_data(as_text=True)
        assert SEND_AGAIN not in forgot.get_data(as_text=True)
        assert_form_kept_input(forgot)
        assert stored_counts(trapped_app) == NOTHING_STORED
        carried = fields_of(forgot)
        assert carried["started"] != fields["started"]  # a fresh, single-use token
        fixed = post(client, carried)  # the same instant
        assert fixed.status_code == 303
    assert count(trapped_app, Enquiry) == 1


def test_a_too_fast_post_also_shows_the_field_errors(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0):
        response = post(client, form_fields(client), email="not-an-email")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert SEND_AGAIN in html and 'id="email-error"' in html
    assert stored_counts(trapped_app) == NOTHING_STORED


def test_a_token_is_single_use(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        fields = form_fields(client)
        clock.tick(timedelta(seconds=10))
        assert post(client, fields).status_code == 303
        clock.tick(timedelta(seconds=10))
        replay = post(client, fields, email="second@example.com")
        assert replay.status_code == 422
        assert SEND_AGAIN in replay.get_data(as_text=True)
        assert count(trapped_app, Enquiry) == 1
        # A replay starts the clock again: the token it gets back is too young to use at once.
        assert post(client, fields_of(replay), email="second@example.com").status_code == 422
        clock.tick(timedelta(seconds=3))
        assert post(client, fields_of(replay), email="second@example.com").status_code == 422  # spent
    assert count(trapped_app, Enquiry) == 1


def test_a_token_is_spent_for_every_process_sharing_the_database(make_app):
    """Two app instances (two processes behind a balancer) share the record of spent tokens."""
    from crm.enquiries.time_trap import spend_form_token

    first, second = make_app(CRM_FORM_MIN_SECONDS=3), make_app(CRM_FORM_MIN_SECONDS=3)
    with first.app_context():
        assert spend_form_token("a" * 32) is True
    with second.app_context():
        assert spend_form_token("a" * 32) is False
        assert spend_form_token("b" * 32) is True


def test_spent_tokens_are_forgotten_once_they_would_be_stale_anyway(trapped_app):
    from crm.enquiries.models import SpentFormToken
    from crm.enquiries.time_trap import spend_form_token

    with trapped_app.app_context():
        assert spend_form_token("a" * 32, clock=lambda: T0)
        assert spend_form_token("b" * 32, clock=lambda: T0 + timedelta(hours=5))
    assert [t.nonce for t in all_rows_by_nonce(trapped_app, SpentFormToken)] == ["b" * 32]


def all_rows_by_nonce(app, model):
    import sqlalchemy as sa

    from crm.extensions import db

    with app.app_context():
        return db.session.scalars(sa.select(model).order_by(model.nonce)).all()


def test_an_hours_old_form_asks_to_send_again_and_then_accepts(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        fields = form_fields(client)
        clock.tick(timedelta(hours=5))
        stale = post(client, fields)
        assert stale.status_code == 422
        assert_form_kept_input(stale)
        assert stored_counts(trapped_app) == NOTHING_STORED
        clock.tick(timedelta(seconds=4))
        assert post(client, fields_of(stale)).status_code == 303
    assert count(trapped_app, Enquiry) == 1


def test_a_forged_token_gets_the_form_back_and_stores_nothing(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        fields = form_fields(client)
        clock.tick(timedelta(seconds=30))
        response = post(client, fields, started="eyJuIjoiYSIsInQiOjB9.forged")
        assert response.status_code == 422
        assert_form_kept_input(response)
    assert stored_counts(trapped_app) == NOTHING_STORED


def test_a_client_posting_only_the_documented_fields_is_timed_by_its_session(trapped_app):
    """Without the hidden `started` and `policy_version` fields, the signed session times the
    form, and the consent is to the policy the page showed."""
    client = trapped_app.test_client()
    with freeze_time(T0) as clock:
        token = form_fields(client)["csrf_token"]
        data = {**valid_payload(policy_version=...), "consent": "y", "csrf_token": token}
        clock.tick(timedelta(seconds=1))
        assert client.post("/enquire", data=data).status_code == 422
        assert stored_counts(trapped_app) == NOTHING_STORED
        clock.tick(timedelta(seconds=3))
        assert client.post("/enquire", data=data).status_code == 303
    assert all_rows(trapped_app, Consent)[0].policy_version == "2026-01"
    assert count(trapped_app, Enquiry) == 1


def test_a_post_without_any_served_form_stores_nothing(make_app):
    app = make_app(CRM_FORM_MIN_SECONDS=3, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    response = client.post("/enquire", data={**valid_payload(), "consent": "y"})
    assert response.status_code == 422
    assert stored_counts(app) == NOTHING_STORED


def test_the_time_trap_can_be_turned_off(make_app):
    app = make_app(CRM_FORM_MIN_SECONDS=0)
    client = app.test_client()
    assert post(client, form_fields(client), started="").status_code == 303
    assert count(app, Enquiry) == 1


def test_a_filled_honeypot_gets_a_generic_thank_you_and_nothing_is_stored(trapped_app):
    client = trapped_app.test_client()
    with freeze_time(T0):  # the honeypot answers the same, however fast
        response = post(client, form_fields(client), website="https://spam.example")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/enquire/thanks")
    thanks = client.get("/enquire/thanks").get_data(as_text=True)
    assert "Thank you" in thanks
    # No invented reference and no claim of an email.
    assert "AAL-" not in thanks and "email" not in thanks.lower().split("<main", 1)[1]
    assert stored_counts(trapped_app) == NOTHING_STORED


def test_the_thanks_page_names_the_reference_and_the_email_on_its_way(app, client):
    response = post(client, form_fields(client))
    assert response.status_code == 303
    reference = all_rows(app, Enquiry)[0].reference
    thanks = client.get("/enquire/thanks").get_data(as_text=True)
    assert reference in thanks
    assert "We have sent you a confirmation by email." in thanks
    assert "You will hear from us by" in thanks  # the response target stored at submission


def test_the_thanks_page_claims_only_what_is_true(client):
    with client.session_transaction() as session:
        session["enquiry_thanks"] = {"reference": "AAL-ABCD-EFGH", "acknowledged": False,
                                     "response_due_at": "2026-12-01T13:00:00+00:00"}
    thanks = client.get("/enquire/thanks").get_data(as_text=True)
    assert "AAL-ABCD-EFGH" in thanks
    assert "confirmation by email" not in thanks
    # 13:00 UTC is 14:00 in Copenhagen (CRM_TIMEZONE) in December.
    assert "You will hear from us by Tuesday 1 December 2026, 14:00" in thanks


def test_a_rate_limited_form_post_gets_the_form_back_with_the_time_to_wait(make_app):
    app = make_app(CRM_PUBLIC_RATE_LIMIT="1 per minute")
    client = app.test_client()
    assert post(client, form_fields(client)).status_code == 303
    blocked = post(client, form_fields(client), email="second@example.com")
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 0 < wait <= 60
    html = blocked.get_data(as_text=True)
    shown = int(re.search(r"send again in (\d+) second", html).group(1))
    assert abs(shown - wait) <= 1
    assert 'value="second@example.com"' in html
    assert_form_kept_input_except_email(blocked)
    assert 'name="csrf_token"' in html and 'name="started"' in html
    assert count(app, Enquiry) == 1
    # The JSON API keeps its JSON 429.
    api = client.post("/api/v1/enquiries", json=valid_payload())
    assert api.status_code == 429 and api.is_json and "Retry-After" in api.headers


def assert_form_kept_input_except_email(response):
    html = response.get_data(as_text=True)
    for key, value in TYPED.items():
        if key != "email":
            assert value in html, value
