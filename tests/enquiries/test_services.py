"""submit_enquiry: the one service behind the form, the API and the seed command."""

import pytest
import sqlalchemy as sa

from crm.core.models import Consent, Contact, Enquiry, OutboxMessage, User
from crm.enquiries.services import submit_enquiry
from crm.enquiries.validation import EnquiryInvalid
from crm.extensions import db
from tests.helpers import NOTHING_STORED, stored_counts, valid_payload


def test_the_acknowledgement_is_a_text_and_html_pair_with_the_reference(app):
    with app.app_context():
        submission = submit_enquiry(valid_payload(), source="api")
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert ack.subject == f"We received your enquiry {submission.reference}"
        assert submission.reference in ack.text and submission.reference in ack.html
        assert ack.html.lstrip().startswith("<!doctype html>") and "<p>Dear Ada Jensen,</p>" in ack.html
        assert "Dear Ada Jensen" in ack.text and "<p>" not in ack.text
        assert "http://127.0.0.1:5000/privacy" in ack.text
        assert ack.message_id.startswith("<") and ack.message_id.endswith("@127.0.0.1>")


def test_html_in_a_name_is_escaped_in_the_html_email_only(app):
    with app.app_context():
        submit_enquiry(valid_payload(name="Ada <b>Bold</b>"), source="api")
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert "Ada &lt;b&gt;Bold&lt;/b&gt;" in ack.html and "<b>" not in ack.html
        assert "Dear Ada <b>Bold</b>," in ack.text


def test_the_assignee_is_told_without_the_prospects_contact_details(app, make_user):
    make_user(role="admin", email="boss@investinaalborg.example")
    make_user(role="manager", email="helena@investinaalborg.example")
    with app.app_context():
        submission = submit_enquiry(valid_payload(), source="form")
        staff = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind != "enquiry_received")).all()
        # The engine named the manager: the admins hear nothing of an enquiry that has an owner.
        assert [(m.kind, m.recipient) for m in staff] == [("enquiry_assigned", "helena@investinaalborg.example")]
        assert submission.reference in staff[0].subject
        assert f"/staff/enquiries/{submission.reference}" in staff[0].text
        assert "ada@example.com" not in staff[0].text and "+45 20" not in staff[0].text


def test_when_nobody_can_take_it_each_active_admin_gets_one_unassigned_email(app, make_user):
    make_user(role="admin", email="boss@investinaalborg.example")
    inactive = make_user(role="admin", email="former@investinaalborg.example")
    former_manager = make_user(role="manager")
    with app.app_context():
        db.session.get(User, inactive).active = False
        db.session.get(User, former_manager).active = False
        db.session.commit()
        submission = submit_enquiry(valid_payload(), source="form")
        staff = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind != "enquiry_received")).all()
        assert [(m.kind, m.recipient) for m in staff] == [("enquiry_unassigned", "boss@investinaalborg.example")]
        assert submission.reference in staff[0].subject and "unassigned" in staff[0].subject
        assert "ada@example.com" not in staff[0].text and "+45 20" not in staff[0].text
        assert db.session.scalar(sa.select(Enquiry.assignee_id)) is None


def test_consent_records_the_exact_policy_text_hash_and_the_client(app):
    with app.app_context():
        submit_enquiry(valid_payload(), source="form", ip_address="203.0.113.5", user_agent="Firefox")
        consent = db.session.scalar(sa.select(Consent))
        from crm.enquiries.policy import FIRST_POLICY_TEXT, policy_sha256

        assert consent.policy_sha256 == policy_sha256(FIRST_POLICY_TEXT)
        assert (consent.method, consent.ip_address, consent.user_agent, consent.lawful_basis) == (
            "form", "203.0.113.5", "Firefox", "consent")


def test_invalid_input_raises_and_stores_nothing(app):
    with app.app_context(), pytest.raises(EnquiryInvalid) as raised:
        submit_enquiry(valid_payload(consent=False, sector="fintech"), source="api")
    assert set(raised.value.fields) == {"consent", "sector"}
    assert stored_counts(app) == NOTHING_STORED


def test_a_contact_is_keyed_by_normalised_email(app):
    with app.app_context():
        submit_enquiry(valid_payload(email="ADA@Example.com"), source="api")
        submit_enquiry(valid_payload(email="ada@EXAMPLE.com", country="SE"), source="form")
        contact = db.session.scalar(sa.select(Contact))
        assert contact.country == "SE"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 2
        assert {e.contact_id for e in db.session.scalars(sa.select(Enquiry))} == {contact.id}
