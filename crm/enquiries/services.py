"""Use cases of enquiry capture. Each owns one transaction."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from crm.assignment.services import assign_new_enquiry
from crm.core.db import utcnow
from crm.enquiries.models import Activity, Consent, Contact, Enquiry, IdempotencyKey
from crm.enquiries.policy import current_policy
from crm.enquiries.references import new_reference
from crm.enquiries.validation import validate_enquiry
from crm.extensions import db
from crm.notifications.services import queue_email

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


@dataclass(frozen=True)
class Submission:
    reference: str
    status: str = "received"
    replayed: bool = False

    def as_json(self):
        return {"reference": self.reference, "status": self.status}


def request_fingerprint(raw):
    """SHA-256 of the body in canonical form, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def submit_enquiry(raw, *, source, ip_address=None, user_agent=None, idempotency_key=None):
    """Validate and store an enquiry with its consent, timeline entry and emails.

    `raw` is the submitted mapping (form or JSON). Returns a Submission; raises EnquiryInvalid
    (nothing stored) or IdempotencyConflict. The acknowledgement to the prospect and the staff
    notification are outbox rows in the same transaction, so they exist exactly when the
    enquiry does.
    """
    policy = current_policy()
    clean = validate_enquiry(raw, policy.version)
    fingerprint = request_fingerprint(raw) if idempotency_key else None

    # Unique constraints settle races (same new email, same key, a reference drawn twice):
    # the loser rolls back and tries again, and then finds the winner's row.
    for attempt in range(3):
        if idempotency_key:
            replay = _replay(idempotency_key, fingerprint)
            if replay:
                return replay
        try:
            enquiry = _store(clean, policy, source, ip_address, user_agent)
            submission = Submission(reference=enquiry.reference)
            if idempotency_key:
                db.session.add(IdempotencyKey(
                    key=idempotency_key, request_sha256=fingerprint,
                    enquiry=enquiry, response=submission.as_json(),
                ))
            db.session.commit()
            return submission
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def purge_expired_idempotency_keys(clock=utcnow):
    """Delete Idempotency-Key records past their 24 hours; returns how many. Safe to run twice."""
    result = db.session.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < clock() - IDEMPOTENCY_WINDOW)
    )
    db.session.commit()
    return result.rowcount


def _replay(key, fingerprint):
    row = db.session.get(IdempotencyKey, key)
    if row is None:
        return None
    if row.created_at < utcnow() - IDEMPOTENCY_WINDOW:
        db.session.delete(row)
        db.session.flush()
        return None
    if row.request_sha256 != fingerprint:
        raise IdempotencyConflict(key)
    return Submission(reference=row.response["reference"], status=row.response["status"], replayed=True)


def _store(clean, policy, source, ip_address, user_agent):
    now = utcnow()
    # Read everything first: no autoflush mid-way, one flush of all new rows at commit.
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == clean["email"]))
    if contact is None:
        contact = Contact(email=clean["email"], created_at=now)
        db.session.add(contact)
    # The latest enquiry carries the person's current details.
    contact.name = clean["name"]
    contact.country = clean["country"]
    contact.company = clean["company"] or contact.company or ""
    contact.phone = clean["phone"] or contact.phone or ""

    enquiry = Enquiry(
        reference=new_reference(), contact=contact, sector=clean["sector"], topic=clean["topic"],
        message=clean["message"], language=clean["language"], source=source, status="new",
        created_at=now, last_activity_at=now,
    )
    db.session.add(enquiry)
    db.session.add(Consent(
        contact=contact, enquiry=enquiry, policy_version=policy.version,
        policy_sha256=policy.sha256, method=source, given_at=now,
        ip_address=ip_address, user_agent=user_agent,
    ))
    db.session.add(Activity(enquiry=enquiry, kind="created", details={"source": source}, created_at=now))
    _queue_enquiry_emails(enquiry, contact)
    # The engine names the assignee (and emails them, or the admins when nobody can take it).
    assign_new_enquiry(enquiry, now)
    return enquiry


def _queue_enquiry_emails(enquiry, contact):
    base_url = current_app.config["CRM_BASE_URL"]
    ack = queue_email(
        "enquiry_received", contact.email, "enquiries/received", language=enquiry.language,
        enquiry=enquiry, contact=contact, name=contact.name, reference=enquiry.reference,
        sector=enquiry.sector, topic=enquiry.topic, privacy_url=f"{base_url}/privacy",
    )
    db.session.add(Activity(
        enquiry=enquiry, kind="email_queued", details={"kind": ack.kind, "to": "prospect"},
    ))
