"""Retention (Art. 5(1)(e)): nothing is kept longer than its period; `flask crm gdpr purge`.

- Closed enquiries (won, lost, spam) with no activity for CRM_RETENTION_DAYS, and spam after
  SPAM_DAYS, are erased: anonymised like an erasure (their figures stay, so landed investments
  keep their jobs and capex); a person none of whose enquiries is left is erased entirely,
  with a tombstone (reason "retention").
- Sent emails after CRM_OUTBOX_RETENTION_DAYS (the outbox's own purge).
- Audit entries after AUDIT_YEARS: the only path that deletes from the audit log.

Idempotent: what was erased is no longer due, so a second run finds nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import AuditLog, record_audit
from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, Contact, Enquiry
from crm.extensions import db
from crm.gdpr.erasure import anonymise_enquiry, erase_subject, scrub_database_files
from crm.gdpr.models import PurgeRun
from crm.gdpr.subjects import ANONYMOUS_EMAIL, anonymous_contact
from crm.notifications.models import OutboxMessage
from crm.notifications.services import purge_sent_messages

SPAM_DAYS = 30
AUDIT_DAYS = 5 * 365 + 1  # five years, leap day included


@dataclass(frozen=True)
class Due:
    """One record and when retention erases it."""

    record_type: str
    record: str
    status: str
    last_activity_at: object
    due_at: object


def _periods():
    config = current_app.config
    return (timedelta(days=config["CRM_RETENTION_DAYS"]), timedelta(days=SPAM_DAYS),
            timedelta(days=config["CRM_OUTBOX_RETENTION_DAYS"]), timedelta(days=AUDIT_DAYS))


def _identified_enquiries():
    """Enquiries that still belong to a person (not yet anonymised)."""
    return (sa.select(Enquiry.id, Enquiry.reference, Enquiry.status, Enquiry.last_activity_at,
                      Contact.email)
            .join(Contact, Contact.id == Enquiry.contact_id)
            .where(Contact.email != ANONYMOUS_EMAIL, Enquiry.status.in_(CLOSED_STATUSES)))


def due_enquiries(now):
    """(id, reference, email) of every enquiry whose retention has run out at `now`."""
    keep, spam, _, _ = _periods()
    query = _identified_enquiries().where(sa.or_(
        Enquiry.last_activity_at < now - keep,
        sa.and_(Enquiry.status == "spam", Enquiry.last_activity_at < now - spam),
    )).order_by(Enquiry.id)
    return [(row.id, row.reference, row.email) for row in db.session.execute(query)]


def retention_schedule(now=None, batch=2000):
    """Every record retention will erase, with its due date, in keyset batches (for the CSV)."""
    now = now or utcnow()
    keep, spam, outbox_days, audit_days = _periods()
    last = 0
    while True:
        rows = db.session.execute(
            _identified_enquiries().where(Enquiry.id > last).order_by(Enquiry.id).limit(batch)
        ).all()
        db.session.rollback()
        if not rows:
            break
        for row in rows:
            period = min(keep, spam) if row.status == "spam" else keep
            yield Due("enquiry", row.reference, row.status, row.last_activity_at,
                      row.last_activity_at + period)
        last = rows[-1].id
    last = 0
    while True:
        rows = db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.sent_at)
            .where(OutboxMessage.status == "sent", OutboxMessage.id > last)
            .order_by(OutboxMessage.id).limit(batch)
        ).all()
        db.session.rollback()
        if not rows:
            break
        for row in rows:
            yield Due("outbox_message", str(row.id), "sent", row.sent_at, row.sent_at + outbox_days)
        last = rows[-1].id
    # The audit log is large and uniform: its oldest entry says when the next ones fall due.
    oldest, entries = db.session.execute(
        sa.select(sa.func.min(AuditLog.created_at), sa.func.count())).one()
    if oldest is not None:
        if not isinstance(oldest, datetime):  # an aggregate on SQLite skips the column's type
            oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
        yield Due("audit_log", f"{entries} entries, oldest first", "", oldest, oldest + audit_days)


def purge_expired(*, dry_run=False, clock=utcnow):
    """Erase what retention says is due now; returns the PurgeRun (stored, dry runs too).

    A dry run counts and lists (`run.counts["due"]`) and changes nothing else.
    """
    now = clock()
    _, _, outbox_days, audit_days = _periods()
    due = due_enquiries(now)
    audit_due = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                  .where(AuditLog.created_at < now - audit_days))
    outbox_due = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "sent", OutboxMessage.sent_at < now - outbox_days))
    counts = {"enquiries": len(due), "people": 0, "sent_emails": outbox_due, "audit_entries": audit_due}
    if dry_run:
        run = PurgeRun(started_at=now, finished_at=now, dry_run=True,
                       counts={**counts, "due": [reference for _, reference, _ in due][:1000]})
        db.session.add(run)
        db.session.commit()
        return run
    counts["people"] = _erase_enquiries(due, now)
    counts["sent_emails"] = purge_sent_messages(outbox_days, clock=lambda: now)
    counts["audit_entries"] = db.session.execute(
        sa.delete(AuditLog).where(AuditLog.created_at < now - audit_days)
    ).rowcount
    run = PurgeRun(started_at=now, finished_at=utcnow(), dry_run=False, counts=counts)
    db.session.add(run)
    db.session.flush()
    record_audit("gdpr.purged", target_type="purge_run", target_id=run.id)
    db.session.commit()
    scrub_database_files()
    return run


def _erase_enquiries(due, now):
    """Anonymise the due enquiries; erase a person entirely when none of theirs is left."""
    by_email = {}
    for enquiry_id, _, email in due:
        by_email.setdefault(email, []).append(enquiry_id)
    people = 0
    for email, enquiry_ids in by_email.items():
        held = db.session.scalar(
            sa.select(sa.func.count()).select_from(Enquiry).join(Contact)
            .where(Contact.email == email))
        if held == len(enquiry_ids):
            erase_subject(email, reason="retention", clock=lambda: now, scrub=False)
            people += 1
            continue
        anonymous = anonymous_contact()
        for enquiry in db.session.scalars(sa.select(Enquiry).where(Enquiry.id.in_(enquiry_ids))):
            anonymise_enquiry(enquiry, anonymous, reason="retention", now=now)
        db.session.commit()
    return people
