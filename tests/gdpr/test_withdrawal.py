"""Withdrawal of consent: a signed link in every prospect email; afterwards no email goes out."""

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from crm.core.db import utcnow
from crm.enquiries.models import Activity, Consent, Contact, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from tests.gdpr.conftest import PERSON, submit
from tests.helpers import audit_actions, count, csrf_token, hidden_value

LINK_RE = re.compile(r"http://[^/\s\"]+(/privacy/withdraw/[A-Za-z0-9_.\-]+)")


def ack_link(app, recipient=PERSON["email"]):
    with app.app_context():
        text, html = db.session.execute(
            sa.select(OutboxMessage.text, OutboxMessage.html)
            .where(OutboxMessage.recipient == recipient, OutboxMessage.kind == "enquiry_received")
            .order_by(OutboxMessage.id.desc())).first()
    path = LINK_RE.search(text).group(1)
    assert path in html  # the HTML version carries the same link
    return path


def queue_reply(app, email=PERSON["email"]):
    """A reply to the prospect waiting in the outbox, queued through queue_email."""
    from crm.notifications.services import queue_email

    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == email))
        message = queue_email("enquiry_received", contact.email, "enquiries/received", contact=contact,
                              enquiry=contact.enquiries[0], name=contact.name, reference="R",
                              sector="medtech", topic="establishment", privacy_url="/privacy")
        db.session.commit()
        return message.id if message else None


def withdraw(client, path):
    page = client.get(path)
    return client.post(path, data={"csrf_token": hidden_value(page.text, "csrf_token")})


@pytest.fixture
def manager(make_user):
    """A manager who exists before the person submits, so that the engine emails them."""
    return make_user(role="manager")


def test_every_prospect_email_carries_the_withdrawal_link(app, manager, person):
    path = ack_link(app)
    assert PERSON["email"] not in path  # no address in a URL: URLs end up in logs
    with app.app_context():
        staff_mail = db.session.scalars(sa.select(OutboxMessage.text)
                                        .where(OutboxMessage.kind == "enquiry_assigned")).all()
    assert staff_mail and all("/privacy/withdraw/" not in text for text in staff_mail)


def test_get_shows_a_confirmation_and_changes_nothing(app, client, person):
    page = client.get(ack_link(app))
    assert page.status_code == 200 and "Withdraw my consent" in page.text
    assert count(app, Consent, Consent.withdrawn_at.is_not(None)) == 0


def test_withdrawal_stops_mail_including_queued_mail(smtp_app, smtp_server):
    from crm.notifications.worker import drain

    app = smtp_app
    submit(app.test_client())
    other = submit(app.test_client(), email="other@example.com", name="Olav", phone="+45 11 11 11 11")
    queued = queue_reply(app)
    assert count(app, OutboxMessage, OutboxMessage.id == queued) == 1

    response = withdraw(app.test_client(), ack_link(app))

    assert response.status_code == 200 and "Your consent is withdrawn" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(Consent.withdrawn_at).join(Contact)
                                 .where(Contact.email == PERSON["email"])) is not None
        pending = db.session.scalars(sa.select(OutboxMessage.recipient)
                                     .where(OutboxMessage.status == "pending")).all()
        assert PERSON["email"] not in pending and "other@example.com" in pending
        kinds = db.session.scalars(sa.select(Activity.kind).join(Enquiry).join(Contact)
                                   .where(Contact.email == PERSON["email"])).all()
        assert "consent_withdrawn" in kinds
    assert "consent.withdrawn" in audit_actions(app)
    # Nothing later is queued for them either, and the worker delivers only the others' mail.
    assert queue_reply(app) is None
    with app.app_context():
        drain()
    recipients = [to for m in smtp_server.messages for to in m["to"]]
    assert "other@example.com" in recipients and PERSON["email"] not in recipients
    assert other


def test_withdrawal_leaves_staff_mail_to_the_same_address_alone(app, make_user):
    """A colleague who once enquired as a prospect withdraws: their staff mail (an invitation,
    a reset link, an assignment) is not mail to the prospect and stays queued."""
    from crm.staff.services import request_password_reset

    submit(app.test_client())
    staff_id = make_user(email=PERSON["email"])
    with app.app_context():
        request_password_reset(PERSON["email"])
        staff_mail = db.session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.user_id == staff_id)).all()
    assert staff_mail

    assert withdraw(app.test_client(), ack_link(app)).status_code == 200

    with app.app_context():
        assert db.session.scalars(sa.select(OutboxMessage.status)
                                  .where(OutboxMessage.id.in_(staff_mail))).all() == ["pending"] * len(staff_mail)
        assert count(app, OutboxMessage, OutboxMessage.kind == "enquiry_received") == 0


def test_withdrawal_stops_a_message_a_worker_has_already_claimed(smtp_app, smtp_server):
    from crm.notifications.worker import claim_batch, deliver

    app = smtp_app
    submit(app.test_client())
    with app.app_context():
        batch = claim_batch()  # the acknowledgement, leased to this worker
    assert [m.recipient for m in batch.messages] == [PERSON["email"]]

    withdraw(app.test_client(), ack_link(app))  # within the lease, before the worker sends

    with app.app_context():
        assert deliver(batch) == 0
    assert smtp_server.messages == []
    with app.app_context():
        row = db.session.get(OutboxMessage, batch.messages[0].id)
        assert (row.status, row.sent_at, row.claimed_by) == ("cancelled", None, None)


def test_the_worker_cancels_mail_to_a_person_who_withdrew_after_it_was_queued(smtp_app, smtp_server):
    """A message committed by a transaction that raced the withdrawal (queue_email had seen the
    consent still given): the worker's check right before sending catches it."""
    from crm.notifications.worker import drain

    app = smtp_app
    submit(app.test_client())
    submit(app.test_client(), email="other@example.com", name="Olav", phone="+45 11 11 11 11")
    withdraw(app.test_client(), ack_link(app))
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == PERSON["email"]))
        late = OutboxMessage(message_id="<late@test>", kind="enquiry_reply", recipient=contact.email,
                             contact=contact, subject="Re: your enquiry", text="t", html="<p>t</p>")
        db.session.add(late)
        db.session.commit()
        late_id = late.id
        drain()
    recipients = [to for m in smtp_server.messages for to in m["to"]]
    assert recipients == ["other@example.com"]
    with app.app_context():
        assert db.session.get(OutboxMessage, late_id).status == "cancelled"


def test_the_register_and_the_enquiry_page_show_the_withdrawal(app, admin_client, person):
    path = ack_link(app)
    withdraw(app.test_client(), path)
    rows = list(csv.reader(io.StringIO(admin_client.get("/admin/gdpr/consents.csv").text)))
    assert rows[1][1] == PERSON["email"] and rows[1][8].endswith("Z")
    page = admin_client.get(f"/staff/enquiries/{person}")
    assert "This person withdrew consent" in page.text
    # A second visit says it is done already, and a second POST changes nothing.
    assert "already withdrawn" in app.test_client().get(path).text
    before = count(app, Activity, Activity.kind == "consent_withdrawn")
    again = app.test_client()
    assert again.post(path, data={"csrf_token": csrf_token(again)}).status_code == 200
    assert count(app, Activity, Activity.kind == "consent_withdrawn") == before


def test_a_new_enquiry_after_withdrawal_asks_for_and_gets_consent_again(app, person):
    withdraw(app.test_client(), ack_link(app))
    assert count(app, OutboxMessage, OutboxMessage.recipient == PERSON["email"],
                 OutboxMessage.status == "pending") == 0
    # Past the hour in which one address gets at most one acknowledgement.
    with freeze_time(utcnow() + timedelta(hours=2)):
        submit(app.test_client(), message="A second enquiry")
    with app.app_context():
        acks = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == PERSON["email"], OutboxMessage.kind == "enquiry_received",
            OutboxMessage.status == "pending"))
    assert acks == 1


def test_bad_tampered_expired_and_erased_links_change_nothing(app, client, runner, person):
    path = ack_link(app)
    head, token = path.rsplit("/", 1)
    tampered = f"{head}/{token[:-3]}{'AAA' if token[-3:] != 'AAA' else 'BBB'}"
    for bad in (tampered, "/privacy/withdraw/not-a-token", f"{head}/{token}x"):
        for response in (client.get(bad), client.post(bad, data={"csrf_token": csrf_token(client)})):
            assert response.status_code == 404 and "This link is not valid" in response.text
    with freeze_time(utcnow() + timedelta(days=app.config["CRM_RETENTION_DAYS"] + 31)):
        assert client.get(path).status_code == 404
    # Without the CSRF token the POST is refused too.
    assert client.post(path, data={}).status_code == 400
    assert count(app, Consent, Consent.withdrawn_at.is_not(None)) == 0
    runner.invoke(args=["crm", "gdpr", "erase", "--email", PERSON["email"]])
    submit(app.test_client(), message="Back again")  # the same address, a new person
    assert client.get(path).status_code == 404  # the old link is not theirs
