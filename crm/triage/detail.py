"""What the enquiry page shows besides the enquiry: related enquiries and the timeline in words."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.assignment.engine import describe_reason
from crm.enquiries.models import Contact, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.triage.labels import PRIORITY_LABELS, PROJECT_FIELDS, PROJECT_TYPES, SOURCE_LABELS, status_label
from crm.triage.queries import visible_to

RELATED_LIMIT = 20
DOMAIN_CONTACTS = 200  # the most recent contacts of a company domain that are looked at
# Addresses at these domains say nothing about the company: no "same company" list for them.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.dk", "live.com", "live.dk",
    "msn.com", "yahoo.com", "yahoo.dk", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com", "qq.com",
    "163.com", "mail.dk", "jubii.dk", "ofir.dk", "sol.dk", "get2net.dk", "email.dk", "tdcadsl.dk",
})
EMAIL_KINDS = {"enquiry_received": "Acknowledgement emailed to the prospect",
               "enquiry_assigned": "Assignment emailed to the assignee",
               "enquiry_new_staff": "New enquiry emailed to staff",
               "enquiry_unassigned": "Nobody could take it: the admins were emailed",
               "enquiry_reply": "Reply emailed to the prospect"}


def company_domain(email):
    """The domain of a company address, or None for free-mail addresses."""
    domain = email.rpartition("@")[2].lower()
    return None if not domain or domain in FREE_MAIL_DOMAINS else domain


@dataclass
class Related:
    same_contact: list
    same_domain: list
    domain: str | None


def related_enquiries(viewer, enquiry):
    """The other enquiries of the same person and of the same company domain that `viewer` may see.

    The domain's contacts are found first, newest first and at most DOMAIN_CONTACTS of them (a
    backward scan of the contacts that stops early), then their enquiries through the contact_id
    index: filtering enquiries by a joined LIKE made SQLite sort every enquiry a manager may see.
    """
    base = (sa.select(Enquiry).options(joinedload(Enquiry.contact), joinedload(Enquiry.assignee))
            .where(Enquiry.id != enquiry.id, visible_to(viewer, by_assignee_index=False))
            .order_by(Enquiry.created_at.desc()).limit(RELATED_LIMIT))
    same_contact = db.session.scalars(base.where(Enquiry.contact_id == enquiry.contact_id)).all()
    domain = company_domain(enquiry.contact.email)
    same_domain = []
    if domain:
        pattern = "%@" + domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        contact_ids = db.session.scalars(
            sa.select(Contact.id).where(Contact.email.like(pattern, escape="\\"),
                                        Contact.id != enquiry.contact_id)
            .order_by(Contact.id.desc()).limit(DOMAIN_CONTACTS)).all()
        if contact_ids:
            same_domain = db.session.scalars(base.where(Enquiry.contact_id.in_(contact_ids))).all()
    return Related(same_contact=same_contact, same_domain=same_domain, domain=domain)


@dataclass
class TimelineEntry:
    when: datetime
    actor: str | None
    text: str
    body: str | None = None  # a note's text, shown with its line breaks
    kind: str = ""


def _value(value):
    if value is None or value == "":
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _project_change(name, old, new):
    if name == "project_type":
        old, new = PROJECT_TYPES.get(old, old), PROJECT_TYPES.get(new, new)
    return f"{PROJECT_FIELDS[name]}: {_value(old)} → {_value(new)}"


def _describe(activity, staff_names, mail):
    d = activity.details or {}
    kind = activity.kind
    name = lambda user_id: staff_names.get(user_id, "a former staff member") if user_id else "nobody"  # noqa: E731
    if kind == "created":
        return f"Received: {SOURCE_LABELS.get(d.get('source'), d.get('source', ''))}"
    if kind == "assigned":
        text = f"Assigned: {name(d.get('from'))} → {name(d.get('to'))}"
        return text + (f". Why: {describe_reason(d)}" if d.get("reason") else "")
    if kind == "status_changed":
        text = f"Status: {status_label(d.get('from'))} → {status_label(d.get('to'))}"
        if d.get("reason"):
            text += f" ({d['reason']})"
        if d.get("follow_up"):
            text += f"; aftercare follow-up set for {d['follow_up']}"
        return text
    if kind == "note":
        return "Note"
    if kind == "follow_up_set":
        return f"Next follow-up: {_value(d.get('from'))} → {_value(d.get('to'))}"
    if kind == "follow_up_done":
        text = f"Follow-up of {d.get('was')} done"
        return text + (f"; next aftercare follow-up {d['to']}" if d.get("to") else "")
    if kind == "priority_changed":
        return (f"Priority: {PRIORITY_LABELS.get(d.get('from'), d.get('from'))} → "
                f"{PRIORITY_LABELS.get(d.get('to'), d.get('to'))}")
    if kind == "project_updated":
        return "Project: " + "; ".join(_project_change(n, *c) for n, c in d.get("changes", {}).items()
                                       if n in PROJECT_FIELDS)
    if kind == "email_queued":
        text = EMAIL_KINDS.get(d.get("kind"), "Email queued")
        if d.get("subject"):
            text += f": “{d['subject']}”"
        message = mail.get(d.get("outbox_id"))
        if message is not None:
            text += {"pending": " (waiting to be sent)", "dead": " (could not be delivered)",
                     "cancelled": " (not sent: consent withdrawn)"}.get(
                message.status, "")
        return text
    return kind.replace("_", " ").capitalize()


def timeline(enquiry, staff_names):
    """The enquiry's timeline in words, oldest first: what changed (from → to), who, when."""
    outbox_ids = [a.details.get("outbox_id") for a in enquiry.activities
                  if a.kind == "email_queued" and (a.details or {}).get("outbox_id")]
    mail = {}
    if outbox_ids:
        mail = {m.id: m for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))}
    entries = []
    for activity in enquiry.activities:
        entries.append(TimelineEntry(
            when=activity.created_at, actor=activity.actor.name if activity.actor else None,
            text=_describe(activity, staff_names, mail), kind=activity.kind,
            body=(activity.details or {}).get("body") if activity.kind == "note" else None))
        message = mail.get((activity.details or {}).get("outbox_id"))
        if message is not None and message.sent_at is not None:
            entries.append(TimelineEntry(when=message.sent_at, actor=None, kind="email_sent",
                                         text=EMAIL_KINDS.get(message.kind, "Email") + ": sent"))
    return sorted(entries, key=lambda e: e.when)


def follow_up_state(enquiry, today):
    """'overdue', 'today' or None for the enquiry's next follow-up."""
    due = enquiry.next_follow_up_on
    if due is None or enquiry.is_closed and enquiry.status != "won":
        return None
    if due < today:
        return "overdue"
    return "today" if due == today else None


def response_state(enquiry, now, today, zone):
    """'late', 'today' or None: the first response against its promised time."""
    due = enquiry.response_due_at
    if due is None or enquiry.first_response_at is not None or enquiry.is_closed:
        return None
    if due <= now:
        return "late"
    return "today" if due.astimezone(zone).date() == today else None




def row_flags(enquiry, now, today, zone):
    """The warnings an inbox row carries, as (kind, words): never colour alone."""
    flags = []
    response = response_state(enquiry, now, today, zone)
    if response:
        flags.append((response, "Response late" if response == "late" else "Response due today"))
    follow_up = follow_up_state(enquiry, today)
    if follow_up:
        flags.append((follow_up, "Follow-up overdue" if follow_up == "overdue" else "Follow-up today"))
    return flags


def age(created_at, now):
    """How long ago an enquiry arrived, in the largest whole unit: 5 min, 3 h, 12 d."""
    seconds = max(int((now - created_at).total_seconds()), 0)
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
