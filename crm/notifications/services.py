"""Queueing email: a rendered message becomes an outbox row in the caller's transaction."""

from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from jinja2 import TemplateNotFound

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
        subject_ctx = text_template.new_context(context)
        subject = "".join(text_template.blocks["subject"](subject_ctx))
        text = render_template(f"emails/{template}.{lang}.txt", **context)
        html = render_template(f"emails/{template}.{lang}.html", **context)
        return " ".join(subject.split()), text, html
    raise TemplateNotFound(f"emails/{template}")


def new_message_id():
    domain = urlsplit(current_app.config["CRM_BASE_URL"]).hostname or "localhost"
    return make_msgid(domain=domain)


def queue_email(kind, recipient, template, *, language="en", enquiry=None, contact=None,
                user=None, **context):
    """Add one outbox row for `recipient` to the current transaction; the worker sends it."""
    subject, text, html = render_email(template, language, **context)
    message = OutboxMessage(
        message_id=new_message_id(),
        kind=kind,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        # Objects, not ids: new rows get their keys in the one flush at commit.
        enquiry=enquiry,
        contact=contact,
        user=user,
    )
    db.session.add(message)
    return message
