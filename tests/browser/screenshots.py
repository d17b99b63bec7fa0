"""`make screenshots`: the main pages as PNGs in docs/screenshots/ (not part of the test suite)."""

from pathlib import Path

import pytest

from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(browser, url, name, width=1280, height=900, before=None):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url)
    if before:
        before(page)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    context.close()


def submit_with_errors(page):
    page.locator("#name").fill("Ada Jensen")
    page.locator("#email").fill("ada-at-example.com")
    page.locator("button[type=submit]").click()


def submit(page):
    page.locator("#name").fill("Ada Jensen")
    page.locator("#email").fill("ada@example.com")
    page.locator("#country").select_option("DK")
    page.locator("#sector").select_option("medtech")
    page.locator("#topic").select_option("establishment")
    page.locator("#message").fill("We plan a European R&D site and would like to visit Aalborg.")
    page.locator("#consent").check()
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/enquire/thanks")


def test_screenshots(app, live_server, browser, make_user):
    OUT.mkdir(parents=True, exist_ok=True)
    shoot(browser, f"{live_server}/enquire", "enquire-en")
    shoot(browser, f"{live_server}/enquire?lang=da", "enquire-da-phone", width=390, height=844)
    shoot(browser, f"{live_server}/enquire", "enquire-errors", before=submit_with_errors)
    shoot(browser, f"{live_server}/enquire", "thanks", before=submit)
    shoot(browser, f"{live_server}/privacy?lang=da", "privacy-da")
    make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    make_enquiry(app, name="Ada Jensen")

    def log_in(page):
        page.get_by_label("Email").fill("helena.peyron@investinaalborg.example")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/staff/enquiries")

    shoot(browser, f"{live_server}/login", "staff-inbox", before=log_in)
