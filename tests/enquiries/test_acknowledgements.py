"""The acknowledgement can be aimed at anyone's address: at most one an hour per address, and
no free text in it beyond a bounded name. The enquiry is stored and staff are told regardless."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from crm.core.db import utcnow
from crm.core.models import Enquiry, OutboxMessage
from crm.enquiries.acknowledgements import GREETING_NAME_MAX, greeting_name
from crm.extensions import db
from tests.helpers import NOTHING_STORED, count, hidden_value, stored_counts, valid_payload


def kinds(app):
    with app.app_context():
        return db.session.execute(sa.select(OutboxMessage.kind, OutboxMessage.recipient)
                                  .order_by(OutboxMessage.id)).all()


def acknowledgements(app, recipient="ada@example.com"):
    return [k for k in kinds(app) if k == ("enquiry_received", recipient)]


def post(client, **fields):
    return client.post("/api/v1/enquiries", json=valid_payload(**fields))


def test_one_acknowledgement_an_hour_per_address_but_every_enquiry_is_stored(app, client, make_user):
    make_user(role="admin", email="boss@investinaalborg.example")
    start = utcnow()
    answers = []
    with freeze_time(start):
        for email in ("ada@example.com", "ADA@example.com", " ada@example.com"):
            answers.append(post(client, email=email))
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert all(set(a.get_json()) == {"reference", "status"} for a in answers)  # the same answer
    assert count(app, Enquiry) == 3
    assert len(acknowledgements(app)) == 1
    # Staff are still told of every one (no manager here: the admins hear it is unassigned).
    assert kinds(app).count(("enquiry_unassigned", "boss@investinaalborg.example")) == 3
    with freeze_time(start + timedelta(minutes=59)):
        assert post(client).status_code == 201
    assert len(acknowledgements(app)) == 1
    with freeze_time(start + timedelta(minutes=61)):
        assert post(client).status_code == 201
    assert len(acknowledgements(app)) == 2
    assert count(app, Enquiry) == 5


def test_each_address_gets_its_own_acknowledgement(app, client):
    for n in range(3):
        assert post(client, email=f"person{n}@example.com").status_code == 201
    assert [k for k, _ in kinds(app)] == ["enquiry_received"] * 3


def test_the_form_thanks_page_is_the_same_when_no_acknowledgement_goes(app, client):
    pages = []
    for _ in range(2):
        token = hidden_value(client.get("/enquire").text, "csrf_token")
        response = client.post("/enquire", data={**valid_payload(consent="y"), "csrf_token": token})
        assert response.status_code == 303
        pages.append(client.get(response.headers["Location"]).status_code)
    assert pages == [200, 200]
    assert count(app, Enquiry) == 2 and len(acknowledgements(app)) == 1


def test_only_the_enquiry_with_an_acknowledgement_has_it_on_its_timeline(app, client):
    from crm.enquiries.models import Activity

    post(client)
    post(client)
    assert count(app, Activity, Activity.kind == "email_queued") == 1


@pytest.mark.parametrize("name, expected", [
    ("Ada Jensen", "Ada Jensen"),
    ("  Ada\n\nJensen\t", "Ada Jensen"),
    ("A" * GREETING_NAME_MAX, "A" * GREETING_NAME_MAX),
    ("A" * 200, "A" * (GREETING_NAME_MAX - 1) + "…"),
])
def test_the_greeting_name_is_one_bounded_line(name, expected):
    assert greeting_name(name) == expected


def test_the_acknowledgement_carries_no_free_text_beyond_the_bounded_name(app, client):
    payload = dict(name="Claim your grant now at the link below " * 5,
                   company="Visit evil.example/login", phone="+45 99 99 99 99",
                   message="Your account is locked: https://evil.example/unlock")
    assert post(client, **payload).status_code == 201
    with app.app_context():
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        for body in (ack.text, ack.html):
            assert "evil.example" not in body and "+45 99" not in body
            assert greeting_name(payload["name"]) in body
            assert payload["name"].strip() not in body
        assert "evil" not in ack.subject


def test_when_queueing_fails_nothing_is_stored(app, monkeypatch):
    """The outbox rows are in the enquiry's transaction: a failure while queueing (the last
    write, after the contact, enquiry, consent and timeline rows) stores nothing."""
    from crm.enquiries import services

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox could not be written")

    monkeypatch.setattr(services, "insert_outbox_rows", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        services.submit_enquiry(valid_payload(), source="api")
    assert stored_counts(app) == NOTHING_STORED
