"""A manager logs in, sees the inbox and an enquiry, and logs out, in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser


def test_a_manager_logs_in_and_out(app, live_server, make_user, page):
    make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    reference = make_enquiry(app, name="Ada Jensen")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server}/staff/enquiries")
    assert page.url.startswith(f"{live_server}/login?next=")
    page.get_by_label("Email").fill("helena.peyron@investinaalborg.example")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("The email or password is not right.")).to_be_visible()

    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/staff/enquiries")
    assert page.get_by_role("heading", name="Inbox").is_visible()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_text("Ada Jensen").first).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_text("You are logged out.").is_visible()
    page.go_back()
    page.goto(f"{live_server}/staff/enquiries/{reference}")
    assert page.url.startswith(f"{live_server}/login?next=")
    assert not [e for e in errors if "Content Security Policy" in e]
