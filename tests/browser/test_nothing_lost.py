"""Nothing a person typed is lost: the quick fix after an error, in a real browser (CONTRACT §4)."""

import re
import time

import pytest
import sqlalchemy as sa

from crm.core.models import Enquiry
from crm.extensions import db
from tests.helpers import count

pytestmark = pytest.mark.browser


def test_forgetting_consent_then_fixing_it_and_resending_at_once_stores_the_enquiry(make_app, serve, page):
    app = make_app(CRM_FORM_MIN_SECONDS=3)
    base = serve(app)
    page.goto(f"{base}/enquire")
    served = time.monotonic()

    page.get_by_label("Your name").fill("Ada Jensen")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Country").select_option("DK")
    page.get_by_label("Sector").select_option("medtech")
    page.get_by_label("Topic", exact=True).select_option("establishment")
    page.get_by_label("Message").fill("We plan a European R&D site.")
    # A person takes a few seconds to type; the consent box is forgotten.
    page.wait_for_timeout(max(0, 3.3 - (time.monotonic() - served)) * 1000)
    page.get_by_role("button", name="Send enquiry").click()

    assert page.locator("#consent-error").is_visible()
    assert page.get_by_label("Message").input_value() == "We plan a European R&D site."
    assert count(app, Enquiry) == 0

    # Fixed and sent again at once: the form still counts from when it was first served.
    page.get_by_role("checkbox", name=re.compile("I accept")).check()
    page.get_by_role("button", name="Send enquiry").click()
    page.wait_for_url(f"{base}/enquire/thanks")
    reference = page.locator(".reference").inner_text()
    assert "We have sent you a confirmation by email." in page.content()
    with app.app_context():
        assert db.session.scalar(sa.select(Enquiry.reference)) == reference


def test_a_too_quick_send_keeps_everything_and_asks_to_send_again(make_app, serve, page):
    app = make_app(CRM_FORM_MIN_SECONDS=3)
    base = serve(app)
    page.goto(f"{base}/enquire")
    page.get_by_label("Your name").fill("Ada Jensen")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Country").select_option("DK")
    page.get_by_label("Sector").select_option("medtech")
    page.get_by_label("Topic", exact=True).select_option("establishment")
    page.get_by_label("Message").fill("We plan a European R&D site.")
    page.get_by_role("checkbox", name=re.compile("I accept")).check()
    page.get_by_role("button", name="Send enquiry").click()  # autofill-fast

    assert page.get_by_text("Please check your details and send again.").is_visible()
    assert page.get_by_label("Email").input_value() == "ada@example.com"
    assert page.get_by_role("checkbox", name=re.compile("I accept")).is_checked()
    assert count(app, Enquiry) == 0
    page.wait_for_timeout(3300)
    page.get_by_role("button", name="Send enquiry").click()
    page.wait_for_url(f"{base}/enquire/thanks")
    assert count(app, Enquiry) == 1
