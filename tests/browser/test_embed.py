"""The embed inside a frame on an allowed origin, refused on another; CORS the same way.

Each host page is served by a second (and third) local server: another port is another origin.
"""

import re

import pytest
from werkzeug.wrappers import Request, Response

from crm.core.models import Enquiry
from tests.helpers import count

pytestmark = pytest.mark.browser


@Request.application
def host_site(request):
    """The agency's own web page, framing the form at ?target=."""
    target = request.args["target"]
    return Response(f"""<!doctype html><html lang="en"><head><title>Host</title></head><body>
        <h1>Invest in Aalborg</h1>
        <iframe title="Enquiry form" src="{target}/enquire?embed=1" width="600" height="900"></iframe>
        </body></html>""", mimetype="text/html")


@pytest.fixture
def sites(make_app, serve):
    allowed, other = serve(host_site), serve(host_site)
    app = make_app(CRM_CORS_ORIGINS=[allowed])
    return app, serve(app), allowed, other


def test_an_allowed_origin_frames_the_form_and_a_prospect_submits_in_it(sites, page):
    app, crm, allowed, _ = sites
    page.goto(f"{allowed}/?target={crm}")
    frame = page.frame_locator("iframe")
    frame.locator("#name").fill("Ada Jensen")
    frame.locator("#email").fill("ada@example.com")
    frame.locator("#country").select_option("DK")
    frame.locator("#sector").select_option("medtech")
    frame.locator("#topic").select_option("establishment")
    frame.locator("#message").fill("We plan a European R&D site.")
    frame.locator("#consent").check()
    assert frame.locator(".site-header").count() == 0
    frame.get_by_role("button", name="Send enquiry").click()
    assert re.fullmatch(r"AAL-\w{4}-\w{4}", frame.locator(".reference").inner_text())
    assert count(app, Enquiry) == 1
    # Browser code on the allowed origin may call the JSON API.
    sectors = page.evaluate(f"async () => (await (await fetch('{crm}/api/v1/options')).json()).sectors.length")
    assert sectors == 6


def test_another_origin_may_neither_frame_the_form_nor_call_the_api(sites, page):
    _, crm, _, other = sites
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))
    page.goto(f"{other}/?target={crm}")
    page.wait_for_timeout(500)
    assert page.frame_locator("iframe").locator("#name").count() == 0
    assert any("frame-ancestors" in text for text in refusals), refusals
    blocked = page.evaluate(f"""async () => {{
        try {{ await fetch('{crm}/api/v1/options'); return false; }} catch (e) {{ return true; }} }}""")
    assert blocked
