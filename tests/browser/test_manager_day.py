"""A manager's day in a real browser, on a desktop and at phone width (390 px): log in, open the
inbox, open an enquiry, reply, change its status, add a note, set a follow-up."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_manager_works_an_enquiry(app, live_server, make_user, browser, viewport):
    manager = make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    reference = make_enquiry(app, assignee_id=manager, name="Ada Jensen", email="ada@example.com")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("helena.peyron@investinaalborg.example")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/staff/enquiries")
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the inbox scrolls sideways"
    if viewport["width"] < 500:
        # Rows are cards: every cell is labelled and the table header is hidden.
        assert page.locator("table.inbox thead").bounding_box()["height"] <= 1
        assert page.locator("table.inbox td[data-label=Status]").first.bounding_box()["width"] > 300
    else:
        # The inbox uses the width of a desktop screen, not a narrow column.
        assert page.locator("main").bounding_box()["width"] > 1200

    page.get_by_role("link", name=reference).click()
    page.wait_for_url(f"{live_server}/staff/enquiries/{reference}")
    assert page.get_by_role("heading", name=f"Enquiry {reference}").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the enquiry page scrolls sideways"

    # Reply: the subject is prefilled with the reference.
    assert page.get_by_role("textbox", name="Subject").input_value() == f"Your enquiry {reference}"
    page.get_by_role("textbox", name="Message").fill("Dear Ada,\nwe would be glad to show you Aalborg.")
    page.get_by_role("button", name="Send reply").click()
    # expect() waits for the page each click loads (is_visible() would look at the old one).
    expect(page.get_by_text("Reply queued")).to_be_visible()
    assert page.get_by_text("Reply emailed to the prospect").first.is_visible()

    # An empty note is refused with its error next to the field, then a real one is added.
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#note-body-error").filter(has_text="Write the note.")).to_be_visible()
    page.get_by_role("textbox", name="Note", exact=True).fill("Contacted by phone.\nSite visit planned.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()

    page.get_by_role("combobox", name="Status", exact=True).select_option("meeting")
    page.get_by_label("Reason (required for lost)").fill("visit booked")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text("Status: new → meeting (site visit) (visit booked)")).to_be_visible()

    page.get_by_label("Next follow-up (YYYY-MM-DD)").fill("2026-12-15")
    page.get_by_role("button", name="Save follow-up").click()
    expect(page.get_by_text("Next follow-up: none → 2026-12-15")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert not [e for e in errors if "422" not in e], errors  # (the refused note answered 422)

    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        assert (enquiry.status, enquiry.next_follow_up_on.isoformat()) == ("meeting", "2026-12-15")
        assert enquiry.first_response_at is not None
        reply = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_reply"))
        assert reply.reply_to == "helena.peyron@investinaalborg.example"
    context.close()
