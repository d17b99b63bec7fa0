"""From a submitted enquiry to the SMTP server: queued in the same transaction, delivered later."""

from datetime import timedelta

import pytest

from crm.core.db import utcnow
from crm.core.models import Enquiry, OutboxMessage
from crm.notifications.worker import drain
from tests.helpers import count, stored_counts, valid_payload
from tests.notifications.helpers import outbox


def received(smtp_server, recipient):
    (message,) = [m["message"] for m in smtp_server.messages if m["to"] == [recipient]]
    return message


def test_server_down_at_submit_the_enquiry_is_stored_and_the_mail_waits_until_it_is_back(
    smtp_app, smtp_server, make_user
):
    make_user(role="admin", email="admin@investinaalborg.example")
    smtp_server.stop()

    response = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload())
    assert response.status_code == 201  # no SMTP in the request
    reference = response.json["reference"]
    rows = outbox(smtp_app)
    assert sorted(r.recipient for r in rows) == ["ada@example.com", "admin@investinaalborg.example"]
    assert {r.status for r in rows} == {"pending"}
    assert all(r.enquiry_id is not None for r in rows)

    now = utcnow()
    with smtp_app.app_context():
        drain(clock=lambda: now)
    assert {(r.status, r.attempts) for r in outbox(smtp_app)} == {("pending", 1)}

    smtp_server.start()
    with smtp_app.app_context():
        assert drain(clock=lambda: now + timedelta(minutes=1)) == 2
    assert {r.status for r in outbox(smtp_app)} == {"sent"}
    assert len(smtp_server.messages) == 2
    assert reference in received(smtp_server, "ada@example.com")["Subject"]
    assert reference in received(smtp_server, "admin@investinaalborg.example")["Subject"]


def test_a_refused_submission_queues_no_mail(smtp_app):
    response = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload(consent=False))
    assert response.status_code == 422
    assert count(smtp_app, OutboxMessage) == 0


def test_the_acknowledgement_renders_in_danish(smtp_app, smtp_server, make_user):
    make_user(role="admin", email="admin@investinaalborg.example")
    payload = valid_payload(language="da", name="Søren Ærø Åberg", email="soren@example.dk")
    reference = smtp_app.test_client().post("/api/v1/enquiries", json=payload).json["reference"]
    with smtp_app.app_context():
        drain()

    ack = received(smtp_server, "soren@example.dk")
    assert ack["Subject"] == f"Vi har modtaget din henvendelse {reference}"
    text = ack.get_body(("plain",)).get_content()
    assert "Kære Søren Ærø Åberg," in text
    assert f"Dit referencenummer: {reference}" in text
    html = ack.get_body(("html",)).get_content()
    assert "Søren Ærø Åberg" in html and reference in html
    assert ack["Message-ID"] == next(r.message_id for r in outbox(smtp_app) if r.recipient == "soren@example.dk")
    # Staff read English whatever the prospect's language.
    staff = received(smtp_server, "admin@investinaalborg.example")
    assert reference in staff["Subject"]
    assert "Vi har" not in staff["Subject"]


def test_the_acknowledgement_renders_in_english(smtp_app, smtp_server):
    reference = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload()).json["reference"]
    with smtp_app.app_context():
        drain()
    ack = received(smtp_server, "ada@example.com")
    assert reference in ack["Subject"]
    assert "Vi har" not in ack["Subject"]
    assert reference in ack.get_body(("plain",)).get_content()
    assert "Ada Jensen" in ack.get_body(("plain",)).get_content()


def test_markup_in_a_name_is_escaped_in_the_html_version(smtp_app, smtp_server):
    payload = valid_payload(name='Ada <img src=x onerror="alert(1)">')
    assert smtp_app.test_client().post("/api/v1/enquiries", json=payload).status_code == 201
    with smtp_app.app_context():
        drain()
    html = received(smtp_server, "ada@example.com").get_body(("html",)).get_content()
    assert "<img" not in html
    assert "&lt;img" in html


@pytest.mark.parametrize("name", ["Ada\r\nBcc: evil@example.com", "Ada\nBcc: evil@example.com",
                                  "Ada\rBcc: evil@example.com"])
def test_a_line_break_in_a_name_is_refused_and_nothing_is_queued(smtp_app, name):
    response = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload(name=name))
    assert response.status_code == 422
    assert "name" in response.json["fields"]
    assert count(smtp_app, Enquiry) == 0
    assert stored_counts(smtp_app)["OutboxMessage"] == 0
