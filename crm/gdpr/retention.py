"""Retention (Art. 5(1)(e)): nothing is kept longer than its period; `flask crm gdpr purge`.

- Closed enquiries (won, lost, spam) with no activity for CRM_RETENTION_DAYS, and spam after
  SPAM_DAYS, are erased: anonymised like an erasure (their figures stay, so landed investments
  keep their jobs and capex); a person none of whose enquiries is left is erased entirely,
  with a tombstone (reason "retention").
- Sent emails after CRM_OUTBOX_RETENTION_DAYS (the outbox's own purge), and cancelled ones
  (the recipient withdrew consent) that long after they were queued.
- Audit entries after AUDIT_YEARS: the only path that deletes from the audit log.
- API submissions the intake queue could not store (kept, retried, shown as failing on
  /admin/outbox) once received CRM_RETENTION_DAYS ago: no longer a submission anyone will
  answer, and personal data all the same.

Idempotent: what was erased is no longer due, so a second run finds nothing.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import AuditLog, record_audit
from crm.core.db import UTCDateTime, utcnow
from crm.enquiries.models import CLOSED_STATUSES, Contact, Enquiry, PendingIntake
from crm.enquiries.pending import delete_received_before, received_before
from crm.extensions import db
from crm.gdpr.erasure import anonymise_enquiry, erase_subject, scrub_database_files
from crm.gdpr.exports import Part, csv_stream, plain, plus_days, text, utc
from crm.gdpr.models import PurgeRun
from crm.gdpr.subjects import ANONYMOUS_EMAIL, anonymous_contact
from crm.notifications.models import OutboxMessage
from crm.notifications.services import expired_messages, purge_sent_messages

SPAM_DAYS = 30
AUDIT_DAYS = 5 * 365 + 1  # five years, leap day included


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


RETENTION_CSV_HEADER = ("record_type", "record", "status", "last_activity_at", "due_at", "due_now")


def retention_csv(now=None):
    """Every record retention will erase, with its due date, as streamed CSV bytes
    (retention.csv): identified closed enquiries, then sent and cancelled mail, then one line
    for the audit log (large and uniform: its oldest entry says when the next ones fall due),
    then API submissions waiting in the intake queue."""
    now = now or utcnow()
    keep, spam, outbox_days, audit_days = (p.days for p in _periods())

    def schedule(record_type, record, status, last_activity, days):
        due = plus_days(last_activity, days)
        due_now = sa.case((due <= sa.literal(now, UTCDateTime()), "yes"), else_="no")
        return (plain(sa.literal(record_type)), record, status, utc(last_activity, precise=True),
                utc(due, precise=True), plain(due_now))

    enquiries = Part(
        select=_identified_enquiries(), key=Enquiry.id,
        cells=schedule("enquiry", text(Enquiry.reference), text(Enquiry.status),
                       Enquiry.last_activity_at,
                       sa.case((Enquiry.status == "spam", min(keep, spam)), else_=keep)))
    sent_at = sa.type_coerce(sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at),
                             UTCDateTime())
    mail = Part(
        select=sa.select(OutboxMessage.id).where(OutboxMessage.status.in_(("sent", "cancelled"))),
        key=OutboxMessage.id,
        cells=schedule("outbox_message", plain(OutboxMessage.id), text(OutboxMessage.status),
                       sent_at, outbox_days))
    summary = sa.select(sa.func.count().label("entries"),
                        sa.func.min(AuditLog.created_at).label("oldest")).subquery()
    audit = Part(
        select=sa.select(summary.c.entries).where(summary.c.entries > 0), key=None,
        cells=schedule("audit_log", text(sa.cast(summary.c.entries, sa.String) + " entries, oldest first"),
                       plain(sa.literal("")), sa.type_coerce(summary.c.oldest, UTCDateTime()),
                       audit_days))
    queued = Part(  # API submissions the intake queue holds; normally gone within seconds
        select=sa.select(PendingIntake.id), key=PendingIntake.id,
        cells=schedule("intake_submission", text(PendingIntake.reference),
                       plain(sa.case((PendingIntake.last_error.is_(None), "waiting"), else_="failing")),
                       PendingIntake.received_at, keep))
    return csv_stream(RETENTION_CSV_HEADER, enquiries, mail, audit, queued)


def purge_expired(*, dry_run=False, clock=utcnow):
    """Erase what retention says is due now; returns the PurgeRun (stored, dry runs too).

    A dry run counts and lists (`run.counts["due"]`) and changes nothing else.
    """
    now = clock()
    retention_days, _, outbox_days, audit_days = _periods()
    due = due_enquiries(now)
    audit_due = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                  .where(AuditLog.created_at < now - audit_days))
    outbox_due = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        expired_messages(now - outbox_days)))
    pending_due = db.session.scalar(sa.select(sa.func.count()).select_from(PendingIntake).where(
        received_before(now - retention_days)))
    counts = {"enquiries": len(due), "people": 0, "sent_emails": outbox_due, "audit_entries": audit_due,
              "pending_submissions": pending_due}
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
    counts["pending_submissions"] = delete_received_before(now - retention_days)
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
