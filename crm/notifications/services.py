"""Email use cases: queueing (an outbox row in the caller's transaction), requeueing, purging."""

from datetime import timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from jinja2 import TemplateNotFound

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.models import OutboxMessage


def render_email(template, language="en", **context):
    """Render `emails/<template>.<language>.{txt,html}`; English when no translation exists.

    The subject is the `subject` block of the text template, so that it is translated with it.
    """
    env = current_app.jinja_env
    context.setdefault("config", current_app.config)
    for lang in dict.fromkeys((language, "en")):
        try:
            text_template = env.get_template(f"emails/{template}.{lang}.txt")
        except TemplateNotFound:
            continue
        html_template = env.get_template(f"emails/{template}.{lang}.html")
        # Straight from the compiled templates, not render_template: mail renders the same in
        # a request, a command or the worker, without the request's context processors (a
        # submission renders two or three emails; they were a tenth of its time).
        # One context for the subject block and the text (what Template.render builds anyway).
        text_ctx = text_template.new_context(context)
        subject = "".join(text_template.blocks["subject"](text_ctx))
        text = "".join(text_template.root_render_func(text_ctx))
        html = html_template.render(context)
        return " ".join(subject.split()), text, html
    raise TemplateNotFound(f"emails/{template}")


def new_message_id():
    domain = urlsplit(current_app.config["CRM_BASE_URL"]).hostname or "localhost"
    return make_msgid(domain=domain)


def queue_email(kind, recipient, template, *, language="en", enquiry=None, contact=None,
                user=None, reply_to=None, **context):
    """Add one outbox row for `recipient` to the current transaction; the worker sends it.

    Mail to a prospect (`contact` is the recipient) carries their withdrawal link
    (`withdraw_url`, rendered by emails/_prospect_footer.*); when they have withdrawn their
    consent nothing is queued and None is returned. `reply_to` (an address) makes the
    recipient's answer go to a person instead of noreply.
    """
    if contact is not None and recipient == contact.email:
        from crm.gdpr.withdrawal import consent_withdrawn, withdraw_url

        if consent_withdrawn(contact):
            current_app.logger.info("email %s not queued: the recipient withdrew consent", kind)
            return None
        context.setdefault("withdraw_url", withdraw_url(contact, enquiry))
    subject, text, html = render_email(template, language, **context)
    message = OutboxMessage(
        message_id=new_message_id(),
        kind=kind,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        reply_to=reply_to,
        # Objects, not ids: new rows get their keys in the one flush at commit.
        enquiry=enquiry,
        contact=contact,
        user=user,
    )
    db.session.add(message)
    return message


def email_row(kind, recipient, template, *, language="en", reply_to=None, enquiry_id=None,
               contact_id=None, user_id=None, now=None, **context):
    """One rendered email as the values of an outbox row, for a caller that inserts its rows
    itself (`insert_outbox_rows`, the submission path); `queue_email` is the usual way.

    No consent check here: the caller knows the recipient has just given consent or is staff.
    """
    subject, text, html = render_email(template, language, **context)
    now = now or utcnow()
    return {
        "message_id": new_message_id(), "kind": kind, "recipient": recipient, "subject": subject,
        "text": text, "html": html, "reply_to": reply_to, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now,
        "enquiry_id": enquiry_id, "contact_id": contact_id, "user_id": user_id,
    }


def insert_outbox_rows(rows):
    """Insert `email_row` values in the current transaction: one statement for all of them."""
    if rows:
        db.session.connection().execute(OutboxMessage.__table__.insert(), rows)


class NotRequeueable(Exception):
    """Only a dead message can be put back in the queue."""


def requeue_message(message_id, *, actor, ip_address=None, clock=utcnow):
    """Put a dead message back in the queue for an immediate, fresh run of attempts.

    The last error is kept for reference; the attempt count and the 24-hour clock restart.
    Returns the row; raises LookupError when there is none and NotRequeueable when it is not dead.
    """
    message = db.session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise LookupError(message_id)
    if message.status != "dead":
        db.session.rollback()
        raise NotRequeueable(message.status)
    message.status = "pending"
    message.attempts = 0
    message.failing_since = None
    message.next_attempt_at = clock()
    message.claimed_until = None
    message.claimed_by = None
    record_audit("outbox.requeued", actor=actor, target_type="outbox_message", target_id=message.id,
                 ip_address=ip_address)
    db.session.commit()
    return message


def expired_messages(cutoff):
    """SQL: mail sent before `cutoff`, and cancelled mail (never sent) queued before it."""
    return sa.or_(sa.and_(OutboxMessage.status == "sent", OutboxMessage.sent_at < cutoff),
                  sa.and_(OutboxMessage.status == "cancelled", OutboxMessage.created_at < cutoff))


def purge_sent_messages(older_than=None, *, clock=utcnow, chunk=1000):
    """Delete sent messages older than `older_than` (default CRM_OUTBOX_RETENTION_DAYS), and
    cancelled ones (the recipient withdrew consent) queued that long ago.

    Their bodies hold personal data that has served its purpose. Deletes in chunks, each in its
    own short transaction, so that a large backlog never locks the outbox for long; running it
    twice, or in two processes at once, deletes each row once. Returns how many were deleted.
    """
    if older_than is None:
        older_than = timedelta(days=current_app.config["CRM_OUTBOX_RETENTION_DAYS"])
    cutoff = clock() - older_than
    expired = expired_messages(cutoff)
    deleted = 0
    while True:
        ids = db.session.scalars(
            sa.select(OutboxMessage.id).where(expired).order_by(OutboxMessage.id).limit(chunk)
        ).all()
        if not ids:
            db.session.rollback()
            return deleted
        result = db.session.execute(
            sa.delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), expired)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        deleted += result.rowcount
