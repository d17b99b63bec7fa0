"""Fixtures of the GDPR tests: an admin's client, a manager's client, a person with a history."""

import pytest
import sqlalchemy as sa

from crm.extensions import db
from tests.helpers import valid_payload

PERSON = {
    "email": "quintessa.verhoeven@example.com",
    "name": "Quintessa Verhoeven-Blomqvist",
    "phone": "+45 91 82 73 64",
    "message": "Confidential plan XYZZY-4821: a cleanroom line for Aalborg East.",
}


@pytest.fixture
def admin_client(app, make_user, login):
    client = app.test_client()
    login(client, make_user(role="admin"))
    return client


@pytest.fixture
def manager_client(app, make_user, login):
    client = app.test_client()
    login(client, make_user(role="manager"))
    return client


def submit(client, **overrides):
    """Submit an enquiry through the public API; returns its reference."""
    payload = valid_payload(**{**PERSON, **overrides})
    response = client.post("/api/v1/enquiries", json=payload,
                           headers={"Idempotency-Key": f"key-{payload['email']}-{len(overrides)}"})
    assert response.status_code in (201, 202, 200), response.text
    return response.get_json()["reference"]


@pytest.fixture
def person(app):
    """The PERSON with an API enquiry, a note, a failed email quoting them, and a reply sent."""
    from crm.core.db import utcnow
    from crm.enquiries.models import Activity, Contact, Enquiry
    from crm.notifications.models import OutboxMessage

    reference = submit(app.test_client())
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == PERSON["email"]))
        db.session.add(Activity(enquiry=enquiry, kind="note", created_at=utcnow(),
                                details={"body": f"Called {PERSON['name']} on {PERSON['phone']}"}))
        db.session.add(OutboxMessage(
            message_id="<dead-1@test>", kind="reply", recipient=PERSON["email"], contact=contact,
            enquiry=enquiry, subject="Your visit", text=f"Dear {PERSON['name']}", html="<p>Dear</p>",
            status="dead", last_error=f"550 5.1.1 <{PERSON['email']}>: mailbox unavailable",
        ))
        db.session.commit()
    return reference
