"""An admin answers an access request and an erasure request from the browser."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from crm.enquiries.models import Contact
from crm.extensions import db
from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser


def test_an_admin_finds_a_person_downloads_their_data_and_erases_them(app, live_server, make_user,
                                                                       page):
    make_user(role="admin", email="admin@investinaalborg.example", name="Anna Admin")
    reference = make_enquiry(app, email="ada@example.com", name="Ada Jensen")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server}/admin/gdpr")
    page.get_by_label("Email").fill("admin@investinaalborg.example")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/admin/gdpr")

    page.locator("#subject-email").fill("ada@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Ada Jensen")).to_be_visible()
    assert page.get_by_role("link", name=reference).is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download everything held (JSON, Art. 15)").click()
    assert download.value.suggested_filename == "subject.json"

    page.get_by_role("button", name="Erase this person").click()
    page.wait_for_url(f"{live_server}/admin/gdpr")
    assert page.get_by_text("Erased: 1 enquiries anonymised").is_visible()
    page.locator("#subject-email").fill("ada@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("This address was erased before")).to_be_visible()
    assert page.get_by_text("Nothing is held about this address.").is_visible()
    with app.app_context():
        assert db.session.scalar(sa.select(Contact).where(Contact.email == "ada@example.com")) is None
    assert not [e for e in errors if "Content Security Policy" in e]
