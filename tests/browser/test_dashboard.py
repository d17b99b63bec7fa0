"""The dashboard's charts render in Chromium under the strict CSP, with no console error."""

import pytest

from tests.dashboard.conftest import add, at

pytestmark = pytest.mark.browser


def test_an_admin_opens_the_dashboard_and_follows_a_bar_to_the_inbox(app, live_server, make_user, page):
    make_user(role="admin", email="mette@investinaalborg.example")
    for day in range(1, 8):
        add(app, at(1, day), status="won" if day % 2 else "contacted", response_hours=day * 10,
            closed_at=at(2, day), realised_capex_eur=day * 1_000_000)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login?next=/staff/dashboard%3Fperiod%3Dcustom%26from%3D2026-01-01%26to%3D2026-03-31")
    page.get_by_label("Email").fill("mette@investinaalborg.example")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/staff/dashboard**")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    charts = page.locator("figure.chart svg")
    assert charts.count() >= 8
    box = page.locator("#open-team svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    # Every bar has a size the browser drew (no CSP-blocked style attributes).
    assert page.locator("#funnel-team rect").first.bounding_box()["width"] > 0
    page.locator("#open-team svg a").filter(has_text="Contacted").click()
    page.wait_for_url("**/staff/enquiries?status=contacted")
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert not errors
