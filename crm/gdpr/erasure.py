"""Erasure (Art. 17): remove every personal field of a person, keep only a tombstone and figures.

What survives an erasure, by choice: each enquiry row stays, anonymised and moved to one
placeholder contact, with its reference, sector, topic, status, priority, dates and project
facts (jobs, capex), so that pipeline and landed-investment figures do not change. Everything
else goes: the contact, the enquiries' messages and lost reasons, their whole timeline (notes
included), consents (with client address and user agent), Idempotency-Key records, every
outbox row to or about the person, and their submissions still waiting in the intake queue.
The tombstone keeps the date and a keyed hash of the email.

On SQLite `secure_delete` (crm.core.db) zeroes the freed bytes; afterwards full-text indexes are
optimised (FTS5 keeps deleted tokens in old segments until they are merged) and the WAL is
checkpointed and truncated, so that no old page is left in the -wal file. On PostgreSQL the rows
are gone; the dead tuples are reclaimed by VACUUM, which is the operator's (README).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import Activity, Consent, Contact, Enquiry, IdempotencyKey
from crm.enquiries.pending import delete_pending_for
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.gdpr.subjects import anonymous_contact, contact_for, email_hmac, subject_email
from crm.notifications.models import OutboxMessage

log = logging.getLogger(__name__)

# What an erasure removes (crm/gdpr/classification.py checks it covers every personal column):
# whole rows of these tables, and these columns of the enquiry rows that survive anonymised.
DELETED_TABLES = ("contacts", "consents", "activities", "outbox_messages", "idempotency_keys", "intake")
# The dashboard's count of lost reasons follows enquiries.lost_reason through its trigger.
BLANKED_COLUMNS = ("enquiries.message", "enquiries.lost_reason", "enquiries.contact_id",
                   "dashboard_closings.lost_reason")


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: whether the person was known, and how many records it touched."""

    found: bool
    enquiries: int
    emails: int
    erased_at: datetime
    tombstone_id: int


def erase_subject(email, *, actor=None, ip_address=None, reason="request", clock=utcnow, scrub=True):
    """Erase everything held about the person with `email`; returns an Erasure.

    One transaction: the person's rows, the tombstone and the audit entry (which names the
    tombstone, not the person). An unknown address still gets its tombstone, and mail queued to
    it is still removed: the request is answered either way. `scrub=False` leaves the on-disk
    clean-up (scrub_database_files) to a caller that erases many people in a row.
    """
    email = subject_email(email)
    now = clock()
    contact = contact_for(email)
    enquiries = []
    if contact is not None:
        enquiries = db.session.scalars(
            sa.select(Enquiry).where(Enquiry.contact_id == contact.id).order_by(Enquiry.id)
        ).all()
        anonymous = anonymous_contact()
        for enquiry in enquiries:
            anonymise_enquiry(enquiry, anonymous, actor=actor, reason=reason, now=now)
    emails = _delete_mail(email, contact, [e.id for e in enquiries])
    # API submissions the intake queue holds for the worker: gone before it can store them.
    delete_pending_for(email)
    if contact is not None:
        db.session.execute(sa.delete(Consent).where(Consent.contact_id == contact.id))
        db.session.execute(sa.delete(Contact).where(Contact.id == contact.id))
    tombstone = _tombstone(email, reason, now)
    record_audit("gdpr.erased", actor=actor, target_type="erasure_tombstone", target_id=tombstone.id,
                 ip_address=ip_address)
    db.session.commit()
    if scrub:
        scrub_database_files()
    return Erasure(found=contact is not None, enquiries=len(enquiries), emails=emails,
                   erased_at=now, tombstone_id=tombstone.id)


def anonymise_enquiry(enquiry, anonymous, *, actor=None, reason="request", now=None):
    """Strip one enquiry of everything personal, keeping its anonymous figures (no commit)."""
    ids = [enquiry.id]
    db.session.execute(sa.delete(Activity).where(Activity.enquiry_id.in_(ids)))
    db.session.execute(sa.delete(Consent).where(Consent.enquiry_id.in_(ids)))
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.enquiry_id.in_(ids)))
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.enquiry_id.in_(ids)))
    db.session.expire(enquiry, ["activities", "consents"])
    enquiry.message = ""
    enquiry.lost_reason = None
    enquiry.contact = anonymous
    db.session.add(Activity(enquiry=enquiry, kind="erased", actor_id=getattr(actor, "id", actor),
                            details={"reason": reason}, created_at=now or utcnow()))


def _delete_mail(email, contact, enquiry_ids):
    """Every outbox row to or about the person, pending ones included; returns how many."""
    pattern = "%" + email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    about = [sa.func.lower(OutboxMessage.recipient) == email]
    for column in (OutboxMessage.subject, OutboxMessage.text, OutboxMessage.html,
                   OutboxMessage.last_error):
        about.append(sa.func.lower(column).like(pattern, escape="\\"))
    if contact is not None:
        about.append(OutboxMessage.contact_id == contact.id)
    if enquiry_ids:
        about.append(OutboxMessage.enquiry_id.in_(enquiry_ids))
    result = db.session.execute(
        sa.delete(OutboxMessage).where(sa.or_(*about)).execution_options(synchronize_session=False)
    )
    return result.rowcount


def _tombstone(email, reason, now):
    digest = email_hmac(email)
    tombstone = db.session.scalar(
        sa.select(ErasureTombstone).where(ErasureTombstone.email_hmac == digest)
    )
    if tombstone is None:
        tombstone = ErasureTombstone(email_hmac=digest, reason=reason, erased_at=now)
        db.session.add(tombstone)
    else:  # erased before, known again since: the latest erasure is what counts
        tombstone.reason = reason
        tombstone.erased_at = now
    db.session.flush()
    return tombstone


def scrub_database_files():
    """SQLite: merge full-text indexes and empty the WAL, so that erased bytes leave the disk."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.begin() as conn:
        fts_tables = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
        ).scalars().all()
        for name in fts_tables:
            # The name comes from sqlite_master, not from a user.
            conn.exec_driver_sql(f'INSERT INTO "{name}"("{name}") VALUES (\'optimize\')')  # noqa: S608
    with db.engine.connect() as conn:
        for _ in range(50):
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if not busy:
                return
            time.sleep(0.1)  # a reader holds an old snapshot; it ends within moments
    log.warning("WAL checkpoint after an erasure was blocked by a long reader; erased pages "
                "stay in the WAL until the next checkpoint")


def reapply_erasures(batch=1000):
    """After a restore from backup: erase again every contact a tombstone says was erased.

    A contact is erased again when the keyed hash of its email matches a tombstone recorded
    after the contact was created; a contact created after the erasure is a new person and
    stays. Copy the live database's `erasure_tombstones` rows into the restored one first (they
    hold no personal data). Returns how many people were erased again.
    """
    erased, last = 0, 0
    while True:
        contacts = db.session.execute(
            sa.select(Contact.id, Contact.email, Contact.created_at)
            .where(Contact.id > last).order_by(Contact.id).limit(batch)
        ).all()
        if not contacts:
            db.session.rollback()
            return erased
        last = contacts[-1].id
        hashes = {email_hmac(c.email): c for c in contacts}
        stones = db.session.execute(
            sa.select(ErasureTombstone.email_hmac, ErasureTombstone.erased_at)
            .where(ErasureTombstone.email_hmac.in_(hashes))
        ).all()
        db.session.rollback()
        for digest, erased_at in stones:
            contact = hashes[digest]
            if erased_at >= contact.created_at:
                erase_subject(contact.email, reason="reapplied", clock=lambda at=erased_at: at,
                              scrub=False)
                erased += 1
        if stones:
            scrub_database_files()
