"""An admin sets a rule, previews it, and assigns outside someone's sectors with confirmation."""

import pytest
from playwright.sync_api import expect

from tests.helpers import make_enquiry

pytestmark = pytest.mark.browser


def log_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()


def test_an_admin_adds_a_rule_previews_it_and_assigns_by_hand(app, live_server, make_user, page):
    make_user(role="admin", email="admin@investinaalborg.example")
    make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron", sectors=["medtech"])
    make_user(name="Robotics Specialist", sectors=["robotics"])
    reference = make_enquiry(app, sector="medtech")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, live_server, "admin@investinaalborg.example")

    page.goto(f"{live_server}/admin/rules")
    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Give matching enquiries to").select_option(label="Helena Peyron (manager)")
    page.get_by_label("Medical technology").check()
    page.get_by_label("Description").fill("Medtech lead")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Medtech lead")).to_be_visible()

    page.get_by_label("Sector").select_option("medtech")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("An enquiry like this would go to Helena Peyron")).to_be_visible()
    assert page.get_by_text("(Medtech lead)").is_visible()

    page.goto(f"{live_server}/staff/enquiries/{reference}")
    page.get_by_label("Assign to").select_option(label="Robotics Specialist · 0 open · outside their sectors")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("Robotics Specialist does not cover Medical technology.")).to_be_visible()
    page.get_by_role("button", name="Yes, assign to Robotics Specialist").click()
    page.wait_for_url(f"{live_server}/staff/enquiries/{reference}")
    assert page.get_by_text("Why: by hand, outside their sectors (confirmed)").is_visible()
    assert not [e for e in errors if "Content Security Policy" in e]
