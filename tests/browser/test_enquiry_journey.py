"""A prospect sends an enquiry in a real browser, first with a mistake, using the keyboard."""

import re

import pytest
import sqlalchemy as sa

from crm.core.models import Enquiry
from crm.extensions import db
from tests.helpers import count

pytestmark = pytest.mark.browser


def test_a_prospect_corrects_a_mistake_and_gets_a_reference(app, live_server, page):
    page.goto(f"{live_server}/enquire")
    assert page.title() == "Contact Invest in Aalborg"

    page.get_by_label("Your name").fill("Søren Ærø")
    page.get_by_label("Email").fill("soren-at-example.com")
    page.get_by_label("Company (optional)").fill("Limfjord Robotics ApS")
    page.get_by_label("Country").select_option("DK")
    page.get_by_label("Sector").select_option("robotics")
    page.get_by_label("Topic", exact=True).select_option("establishment")
    page.get_by_label("Message").fill("Vi overvejer en afdeling i Aalborg.")
    page.get_by_label("Preferred language").select_option("da")
    page.get_by_role("button", name="Send enquiry").click()

    # Server-side errors, next to their fields; nothing stored; input kept.
    assert page.locator("#email-error").is_visible()
    assert page.locator("#consent-error").is_visible()
    assert page.get_by_label("Your name").input_value() == "Søren Ærø"
    assert page.get_by_label("Email").get_attribute("aria-invalid") == "true"
    assert count(app, Enquiry) == 0

    page.get_by_label("Email").fill("soren@example.com")
    consent = page.get_by_role("checkbox", name=re.compile("I accept"))
    consent.focus()
    page.keyboard.press("Space")  # keyboard only
    assert consent.is_checked()
    page.get_by_role("button", name="Send enquiry").press("Enter")

    page.wait_for_url(f"{live_server}/enquire/thanks")
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"AAL-\w{4}-\w{4}", reference)
    assert "Søren" not in page.content()
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert (enquiry.reference, enquiry.contact.name, enquiry.language) == (reference, "Søren Ærø", "da")


def test_the_page_loads_no_blocked_resources(live_server, page):
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/enquire")
    assert page.locator("link[rel=stylesheet]").count() == 1
    # The stylesheet applied (CSP allows 'self'): the honeypot is off-screen for people.
    assert page.locator(".honeypot").bounding_box()["x"] < 0
    assert problems == []
