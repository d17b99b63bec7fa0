"""Logs never hold personal data; the outbox view never shows a one-time link's secret."""

import logging
import smtplib

import sqlalchemy as sa

from crm.extensions import db
from crm.gdpr.log_redaction import RedactEmails, redact
from crm.notifications.models import OutboxMessage
from tests.gdpr.conftest import PERSON, submit
from tests.helpers import csrf_token, hidden_value


def test_the_development_transport_logs_id_kind_and_reference_only(app, caplog):
    from crm.notifications.worker import drain

    reference = submit(app.test_client())
    with caplog.at_level(logging.DEBUG), app.app_context():
        assert drain() == 1
    assert f"kind=enquiry_received reference={reference}" in caplog.text
    for secret in (PERSON["email"], PERSON["name"], "Quintessa", "Thank you for contacting"):
        assert secret not in caplog.text


def test_a_failed_delivery_logs_no_address_even_when_the_server_quotes_it(app, caplog):
    from crm.notifications import worker

    submit(app.test_client())
    error = smtplib.SMTPRecipientsRefused({PERSON["email"]: (550, f"<{PERSON['email']}> unknown".encode())})
    with caplog.at_level(logging.DEBUG), app.app_context():
        batch = worker.claim_batch()
        worker.mark_failed(batch, batch.messages[0], error, permanent=True)
        stored = db.session.scalar(sa.select(OutboxMessage.last_error))
    assert PERSON["email"] in stored  # admins still read the server's words at /admin/outbox
    assert "is dead" in caplog.text and PERSON["email"] not in caplog.text


def test_request_logs_have_addresses_in_query_strings_redacted(app):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - "%s" %s',
                               ("127.0.0.1", "GET /admin/gdpr?email=ada%40example.com HTTP/1.1", "200"),
                               None)
    assert RedactEmails().filter(record)
    assert "example.com" not in record.getMessage() and "[email]" in record.getMessage()
    assert redact("to ada@example.com and bo.b+x@sub.example.dk") == "to [email] and [email]"
    app.test_client()  # the filter is installed when the app is built
    assert any(isinstance(f, RedactEmails) for f in logging.getLogger("werkzeug").filters)


def test_the_outbox_shows_reset_and_invitation_links_redacted(app, client, make_user, login):
    admin = make_user(role="admin")
    # A reset link for a manager, and an invitation: both queued as real mail.
    manager_email = "helena@investinaalborg.example"
    make_user(role="manager", email=manager_email)
    token = csrf_token(client)
    client.post("/password/forgot", data={"email": manager_email, "csrf_token": token})
    login(client, admin)
    invite_page = client.get("/admin/users/invite").text
    client.post("/admin/users/invite", data={
        "email": "new@investinaalborg.example", "name": "New Person", "role": "manager",
        "csrf_token": hidden_value(invite_page, "csrf_token")})
    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.text)
                                  .order_by(OutboxMessage.id)).all()
    kinds = {kind for _, kind, _ in rows}
    assert {"password_reset", "staff_invite"} <= kinds
    for message_id, kind, text in rows:
        if kind not in ("password_reset", "staff_invite"):
            continue
        secret = text.split("/password/")[1].split("/")[1].split()[0]
        assert len(secret) > 20  # the stored mail holds the real link
        page = client.get(f"/admin/outbox/{message_id}").text
        assert secret not in page and "[redacted]" in page
