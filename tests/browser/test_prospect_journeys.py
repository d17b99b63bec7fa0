"""A prospect submits in English and in Danish, on a desktop and a 390 px phone, once by keyboard."""

import re

import pytest
import sqlalchemy as sa

from crm.core.models import Consent, Enquiry, OutboxMessage
from crm.extensions import db

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"name": "Your name", "send": "Send enquiry", "consent": "I accept", "thanks": "Thank you for your enquiry",
           "required": "This field is required.", "country": "Denmark", "subject": "We received your enquiry"},
    "da": {"name": "Dit navn", "send": "Send henvendelse", "consent": "Jeg accepterer",
           "thanks": "Tak for din henvendelse", "required": "Dette felt skal udfyldes.", "country": "Danmark",
           "subject": "Vi har modtaget din henvendelse"},
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("lang", ["en", "da"])
def test_a_prospect_submits_after_fixing_errors_shown_next_to_the_fields(app, live_server, browser, lang, viewport):
    text = TEXT[lang]
    context = browser.new_context(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone",
                                  locale="da-DK" if lang == "da" else "en-GB")
    page = context.new_page()
    page.goto(f"{live_server}/enquire")  # the browser's language chooses
    assert page.locator("html").get_attribute("lang") == lang

    page.get_by_label(text["name"]).fill("Søren Ærø")
    page.get_by_role("button", name=text["send"]).click()
    # Each error sits right under its label, tied to the field; the summary links to it.
    email_error = page.locator("#email-error")
    assert email_error.inner_text().strip() == text["required"]
    assert page.locator("#email").get_attribute("aria-describedby").split()[-1] == "email-error"
    error_box, field_box = email_error.bounding_box(), page.locator("#email").bounding_box()
    assert 0 <= field_box["y"] - (error_box["y"] + error_box["height"]) < 40
    assert page.locator(".error-summary a[href='#email']").is_visible()
    assert page.get_by_label(text["name"]).input_value() == "Søren Ærø"

    page.locator("#email").fill("soren@example.com")
    page.locator("#country").select_option(label=text["country"])
    page.locator("#sector").select_option("robotics")
    page.locator("#topic").select_option("talent")
    page.locator("#message").fill("Vi overvejer en afdeling i Aalborg.")
    page.get_by_role("checkbox", name=re.compile(text["consent"])).check()
    page.get_by_role("button", name=text["send"]).click()

    page.wait_for_url(f"{live_server}/enquire/thanks")
    assert page.get_by_role("heading", name=text["thanks"]).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert (enquiry.language, enquiry.contact.country) == (lang, "DK")
        assert db.session.scalar(sa.select(Consent.policy_language)) == lang
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert ack.subject.startswith(text["subject"])
    context.close()


def tab_to(page, element_id, limit=25):
    """Press Tab until `element_id` has the focus: the form is reachable in a sensible order."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never got the focus")


def test_a_prospect_submits_with_the_keyboard_only(app, live_server, page):
    page.goto(f"{live_server}/enquire?lang=da")
    tab_to(page, "name")
    page.keyboard.type("Ada Jensen")
    for element_id, keys in (("email", "ada@example.com"), ("company", "Nordic Implants ApS"),
                             ("phone", "+45 20 12 34 56")):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == element_id
        page.keyboard.type(keys)
    page.keyboard.press("Tab")
    page.keyboard.type("Danmark")  # a closed select follows what is typed
    page.keyboard.press("Tab")
    page.keyboard.type("Medicinsk")
    page.keyboard.press("Tab")
    page.keyboard.type("Kliniske")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "message"
    page.keyboard.type("Vi planlægger kliniske forsøg i Aalborg.")
    tab_to(page, "consent")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server}/enquire/thanks")
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert (enquiry.contact.country, enquiry.sector, enquiry.topic) == ("DK", "medtech", "clinical_trials")
        assert enquiry.contact.company == "Nordic Implants ApS"
