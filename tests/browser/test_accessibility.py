"""WCAG 2.2 AA on the public pages and the staff pages, checked by axe-core in Chromium.

axe-core comes from npm into `.venv/node_modules` (`make install-dev`) and is injected from that
file; the pages' CSP forbids injected scripts, so these contexts bypass it (the app's own pages
need no script at all).
"""

import re
from pathlib import Path

import pytest

from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / ".venv/node_modules/axe-core/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def axe_page(browser):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent: `make install-dev` installs axe-core")
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def serious_violations(page):
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        WCAG_TAGS,
    )
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in violations if v["impact"] in ("serious", "critical")]


def fill_form(page, *, consent=True):
    page.locator("#name").fill("Ada Jensen")
    page.locator("#email").fill("ada@example.com")
    page.locator("#country").select_option("DK")
    page.locator("#sector").select_option("medtech")
    page.locator("#topic").select_option("establishment")
    page.locator("#message").fill("We plan a European R&D site.")
    if consent:
        page.locator("#consent").check()


@pytest.mark.parametrize("path", ["/enquire", "/enquire?lang=da", "/enquire?embed=1", "/privacy", "/privacy?lang=da",
                                  "/enquire/thanks", "/no-such-page", "/no-such-page?lang=da", "/login"])
def test_public_pages_have_no_serious_violations(live_server, axe_page, path):
    axe_page.goto(f"{live_server}{path}")
    assert serious_violations(axe_page) == []


@pytest.mark.parametrize("lang", ["en", "da"])
def test_the_form_with_errors_and_the_thanks_page_have_no_serious_violations(live_server, axe_page, lang):
    axe_page.goto(f"{live_server}/enquire?lang={lang}")
    fill_form(axe_page, consent=False)
    axe_page.locator("#email").fill("not-an-address")
    axe_page.locator("button[type=submit]").click()
    assert axe_page.locator(".error-summary").is_visible()
    assert serious_violations(axe_page) == []
    # The summary links to the fields it names.
    axe_page.locator(".error-summary a[href='#consent']").click()
    assert axe_page.evaluate("document.activeElement.id") == "consent"

    axe_page.locator("#email").fill("ada@example.com")
    axe_page.locator("#consent").check()
    axe_page.locator("button[type=submit]").click()
    axe_page.wait_for_url(re.compile(r".*/enquire/thanks$"))
    assert serious_violations(axe_page) == []


def test_staff_pages_have_no_serious_violations(app, live_server, axe_page, make_user):
    make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    reference = make_enquiry(app, name="Ada Jensen")
    axe_page.goto(f"{live_server}/login")
    axe_page.get_by_label("Email").fill("helena.peyron@investinaalborg.example")
    axe_page.get_by_label("Password").fill("correct horse battery staple")
    axe_page.get_by_role("button", name="Log in").click()
    axe_page.wait_for_url(f"{live_server}/staff/enquiries")
    assert serious_violations(axe_page) == []
    axe_page.goto(f"{live_server}/staff/enquiries/{reference}")
    assert serious_violations(axe_page) == []


def test_targets_are_at_least_24_px_and_focus_is_visible(live_server, page):
    page.goto(f"{live_server}/enquire")
    for selector in ("#consent", "button[type=submit]", ".language-switch a >> nth=0", "#country"):
        box = page.locator(selector).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, (selector, box)
    page.keyboard.press("Tab")  # the skip link comes first and shows itself
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["x"] >= 0
    page.locator("#name").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


@pytest.mark.parametrize("path", ["/enquire", "/enquire?lang=da", "/privacy", "/enquire/thanks"])
def test_usable_at_320_px_without_sideways_scrolling(live_server, browser, path):
    # 320 CSS px is what a 1280 px window shows at 400 % zoom, and a small phone at 100 %.
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(f"{live_server}{path}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    if path.startswith("/enquire?") or path == "/enquire":
        box = page.locator("#message").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    context.close()


def test_usable_at_200_percent_zoom(live_server, browser):
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{live_server}/enquire")
    assert page.evaluate("document.documentElement.scrollWidth") <= 640
    fill_form(page)
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/enquire/thanks$"))
    context.close()
