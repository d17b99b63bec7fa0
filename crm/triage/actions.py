"""What a manager does to an enquiry from its page (CONTRACT §5). Each use case owns one
transaction and writes its timeline entry (with what changed, from → to) and its audit entry.

Invalid input raises ActionInvalid before anything is changed. The first response to a prospect
(first reply, first move away from `new`, or first note saying "contacted") sets
`first_response_at`; moving an enquiry to `spam` answers nobody, so it does not count.
"""

from datetime import date

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, PRIORITIES, STATUSES, Activity, Consent
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.gdpr.services import email_hmac
from crm.notifications.services import queue_email
from crm.triage.calendar import add_months, local_today
from crm.triage.labels import PROJECT_FIELDS, PROJECT_TYPES

MAX_JOBS = 1_000_000
MAX_CAPEX_EUR = 10**12
MAX_NOTE = 10_000
MAX_REPLY = 20_000
MAX_SUBJECT = 200
MAX_REASON = 500


class ActionInvalid(ValueError):
    """The input makes no sense; `field` names the form field the message belongs to."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def _touch(enquiry, now):
    enquiry.last_activity_at = now


def _responded(enquiry, now):
    if enquiry.first_response_at is None:
        enquiry.first_response_at = now


def _record(enquiry, kind, details, actor, action, ip_address, now):
    db.session.add(Activity(enquiry=enquiry, actor_id=actor.id, kind=kind, details=details,
                            created_at=now))
    record_audit(action, actor=actor, target_type="enquiry", target_id=enquiry.reference,
                 ip_address=ip_address)
    _touch(enquiry, now)
    db.session.commit()


def aftercare_date(clock=utcnow):
    """The next aftercare follow-up of a landed investment: CRM_AFTERCARE_MONTHS from today."""
    return add_months(local_today(clock), current_app.config["CRM_AFTERCARE_MONTHS"])


def change_status(enquiry, status, reason, actor, ip_address=None, clock=utcnow):
    """Move `enquiry` to `status` (with an optional reason; `lost` requires one).

    Closing sets `closed_at` (reopening clears it); `won` starts aftercare with a follow-up
    CRM_AFTERCARE_MONTHS ahead. Returns False when the status is already `status`.
    """
    reason = (reason or "").strip()
    if status not in STATUSES:
        raise ActionInvalid("status", "Choose one of the statuses.")
    if len(reason) > MAX_REASON:
        raise ActionInvalid("reason", f"Keep the reason under {MAX_REASON} characters.")
    if status == "lost" and not reason:
        raise ActionInvalid("reason", "Say why the enquiry was lost.")
    if status == enquiry.status:
        return False
    now, previous = clock(), enquiry.status
    details = {"from": previous, "to": status}
    if reason:
        details["reason"] = reason
    enquiry.status = status
    enquiry.lost_reason = reason if status == "lost" else None
    if status in CLOSED_STATUSES and previous not in CLOSED_STATUSES:
        enquiry.closed_at = now
    elif status not in CLOSED_STATUSES:
        enquiry.closed_at = None
    if previous == "new" and status != "spam":
        _responded(enquiry, now)
    if status == "won":
        enquiry.next_follow_up_on = aftercare_date(clock)
        details["follow_up"] = enquiry.next_follow_up_on.isoformat()
    _record(enquiry, "status_changed", details, actor, "enquiry.status_changed", ip_address, now)
    return True


def add_note(enquiry, body, actor, ip_address=None, clock=utcnow):
    """Add a plain-text note to the timeline; a note saying "contacted" is a first response."""
    body = (body or "").strip()
    if not body:
        raise ActionInvalid("body", "Write the note.")
    if len(body) > MAX_NOTE:
        raise ActionInvalid("body", f"Keep the note under {MAX_NOTE:,} characters.")
    now = clock()
    if "contacted" in body.lower():
        _responded(enquiry, now)
    _record(enquiry, "note", {"body": body}, actor, "enquiry.note_added", ip_address, now)
    return True


def set_follow_up(enquiry, due, actor, ip_address=None, clock=utcnow):
    """Set the next follow-up date (`due`, a date) or clear it (None). False when unchanged."""
    if due is not None and not isinstance(due, date):
        raise ActionInvalid("due", "Give a date such as 2026-12-01.")
    if due == enquiry.next_follow_up_on:
        return False
    now, previous = clock(), enquiry.next_follow_up_on
    enquiry.next_follow_up_on = due
    _record(enquiry, "follow_up_set", {"from": _iso(previous), "to": _iso(due)}, actor,
            "enquiry.follow_up_set", ip_address, now)
    return True


def complete_follow_up(enquiry, actor, ip_address=None, clock=utcnow):
    """Mark the current follow-up done. A landed investment gets its next aftercare date;
    any other enquiry is left without one (the manager sets the next when they know it)."""
    if enquiry.next_follow_up_on is None:
        raise ActionInvalid("due", "There is no follow-up to mark done.")
    now, previous = clock(), enquiry.next_follow_up_on
    following = aftercare_date(clock) if enquiry.status == "won" else None
    enquiry.next_follow_up_on = following
    _record(enquiry, "follow_up_done", {"was": _iso(previous), "to": _iso(following),
                                        "aftercare": enquiry.status == "won"},
            actor, "enquiry.follow_up_done", ip_address, now)
    return True


def set_priority(enquiry, priority, actor, ip_address=None, clock=utcnow):
    """Set the priority (high, normal, low). False when unchanged."""
    if priority not in PRIORITIES:
        raise ActionInvalid("priority", "Choose high, normal or low.")
    if priority == enquiry.priority:
        return False
    now, previous = clock(), enquiry.priority
    enquiry.priority = priority
    _record(enquiry, "priority_changed", {"from": previous, "to": priority}, actor,
            "enquiry.priority_changed", ip_address, now)
    return True


def _check_project(facts):
    kind = facts.get("project_type")
    if kind is not None and kind not in PROJECT_TYPES:
        raise ActionInvalid("project_type", "Choose one of the investment types.")
    for name, limit in (("planned_jobs", MAX_JOBS), ("realised_jobs", MAX_JOBS),
                        ("planned_capex_eur", MAX_CAPEX_EUR), ("realised_capex_eur", MAX_CAPEX_EUR)):
        value = facts.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
            raise ActionInvalid(name, f"Give a whole number from 0 to {limit:,}.")


def update_project(enquiry, facts, actor, ip_address=None, clock=utcnow):
    """Record the investment project's facts (type, planned/realised jobs and capex in EUR).

    `facts` maps each field of PROJECT_FIELDS to its new value (None clears it). The timeline
    entry lists each change from → to. False when nothing changed.
    """
    _check_project(facts)
    changes = {name: [getattr(enquiry, name), facts[name]] for name in PROJECT_FIELDS
               if name in facts and getattr(enquiry, name) != facts[name]}
    if not changes:
        return False
    now = clock()
    for name, (_old, new) in changes.items():
        setattr(enquiry, name, new)
    _record(enquiry, "project_updated", {"changes": changes}, actor, "enquiry.project_updated",
            ip_address, now)
    return True


def may_email(enquiry):
    """Why no email may go to the enquiry's contact (withdrawn consent, erased), or None."""
    contact = enquiry.contact
    withdrawn = db.session.scalar(sa.select(sa.func.count()).select_from(Consent).where(
        Consent.contact_id == contact.id, Consent.withdrawn_at.is_not(None)))
    if withdrawn:
        return "This person withdrew their consent: no email may go to them."
    tombstone = db.session.scalar(sa.select(ErasureTombstone.erased_at).where(
        ErasureTombstone.email_hmac == email_hmac(contact.email)))
    if tombstone is not None and tombstone >= enquiry.created_at:
        return "This person's data was erased: no email may go to them."
    return None


def send_reply(enquiry, subject, body, actor, ip_address=None, clock=utcnow):
    """Write to the prospect from the enquiry page: an outbox row with Reply-To the sender.

    Refused for an empty reply and for a person who withdrew consent or was erased. The first
    reply is a first response. Returns the OutboxMessage.
    """
    subject, body = " ".join((subject or "").split()), (body or "").strip()
    if not subject:
        raise ActionInvalid("subject", "Write a subject.")
    if len(subject) > MAX_SUBJECT:
        raise ActionInvalid("subject", f"Keep the subject under {MAX_SUBJECT} characters.")
    if not body:
        raise ActionInvalid("body", "Write the reply.")
    if len(body) > MAX_REPLY:
        raise ActionInvalid("body", f"Keep the reply under {MAX_REPLY:,} characters.")
    refusal = may_email(enquiry)
    if refusal:
        raise ActionInvalid("body", refusal)
    now = clock()
    contact = enquiry.contact
    message = queue_email(
        "enquiry_reply", contact.email, "triage/reply", language=enquiry.language,
        enquiry=enquiry, contact=contact, reply_to=actor.email, subject=subject, body=body,
        sender_name=actor.name, sender_title=actor.title, reference=enquiry.reference,
        name=contact.name,
    )
    db.session.flush()  # the outbox id, so the timeline can show when it was sent
    _responded(enquiry, now)
    _record(enquiry, "email_queued", {"kind": message.kind, "to": "prospect", "subject": subject,
                                      "outbox_id": message.id}, actor, "enquiry.replied", ip_address, now)
    return message


def _iso(day):
    return day.isoformat() if day is not None else None
