"""Use cases of enquiry capture. Each owns one transaction."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from crm.assignment.services import assign_new_enquiry, assign_recorded_enquiry
from crm.core.db import utcnow
from crm.enquiries.acknowledgements import acknowledgement_due, greeting_name
from crm.enquiries.models import Activity, Consent, Contact, Enquiry, IdempotencyKey
from crm.enquiries.policy import current_policy
from crm.enquiries.references import new_reference
from crm.enquiries.validation import validate_enquiry
from crm.extensions import db
from crm.notifications.services import queue_email
from crm.triage.calendar import response_due

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


@dataclass(frozen=True)
class Submission:
    reference: str
    status: str = "received"
    replayed: bool = False
    # Whether an acknowledgement to the prospect is in the outbox, and the promised answer time:
    # the thanks page says only what is true.
    acknowledged: bool = False
    response_due_at: datetime | None = None

    def as_json(self):
        return {"reference": self.reference, "status": self.status}


def request_fingerprint(raw):
    """SHA-256 of the body in canonical form, to tell a retry from a different request."""
    # surrogatepass: a lone surrogate in an ignored field must not turn a retry into a 500.
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(canonical).hexdigest()


def submit_enquiry(raw, *, source, ip_address=None, user_agent=None, idempotency_key=None,
                   policy_language="en", recorded=None):
    """Validate and store an enquiry with its consent, timeline entry and emails.

    `raw` is the submitted mapping (form or JSON). Returns a Submission; raises EnquiryInvalid
    (nothing stored) or IdempotencyConflict. The acknowledgement to the prospect and the staff
    notification are outbox rows in the same transaction, so they exist exactly when the
    enquiry does. `policy_language` is the language the policy text was shown in: the consent
    points at that text's SHA-256. `recorded` (a RecordedBy) is a staff member's entry by hand:
    no form consent, its lawful basis and evidence instead, its assignee, and an acknowledgement
    only if asked.
    """
    policy = current_policy(policy_language)
    clean = validate_enquiry(raw, policy.version, consent_required=recorded is None)
    fingerprint = request_fingerprint(raw) if idempotency_key else None

    # Unique constraints settle races (same new email, same key, a reference drawn twice):
    # the loser rolls back and tries again, and then finds the winner's row.
    for attempt in range(3):
        if idempotency_key:
            replay = _replay(idempotency_key, fingerprint)
            if replay:
                return replay
        try:
            enquiry = _store(clean, policy, source, ip_address, user_agent, recorded)
            submission = Submission(
                reference=enquiry.reference, acknowledged=_acknowledgement_queued(enquiry),
                response_due_at=enquiry.response_due_at,
            )
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


@dataclass(frozen=True)
class RecordedBy:
    """An enquiry a staff member records by hand (phone call, fair): who, on what lawful basis."""

    actor: object
    lawful_basis: str
    evidence: str  # how consent or the contact was obtained, e.g. "verbal, at BIO-Europe"
    assignee_id: int | None
    acknowledge: bool = False


def _store(clean, policy, source, ip_address, user_agent, recorded=None):
    now = utcnow()
    # Read everything first: no autoflush mid-way, one flush of all new rows at commit.
    # Locked (PostgreSQL): two submissions from one address take turns, so that the
    # acknowledgement limit holds across processes.
    contact = db.session.scalar(
        sa.select(Contact).where(Contact.email == clean["email"]).with_for_update()
    )
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
        response_due_at=response_due(now),  # the promise: CRM_RESPONSE_TARGET_HOURS of working time
    )
    db.session.add(enquiry)
    db.session.add(Consent(
        contact=contact, enquiry=enquiry, policy_version=policy.version,
        policy_sha256=policy.sha256, policy_language=policy.language, method=source, given_at=now,
        ip_address=ip_address, user_agent=user_agent,
        **({"lawful_basis": recorded.lawful_basis, "evidence": recorded.evidence} if recorded else {}),
    ))
    db.session.add(Activity(enquiry=enquiry, kind="created", details={"source": source}, created_at=now,
                            actor_id=recorded.actor.id if recorded else None))
    _queue_enquiry_emails(enquiry, contact, acknowledge=recorded is None or recorded.acknowledge)
    if recorded:
        _record_by_hand(enquiry, recorded, now)
    else:
        # The engine names the assignee (and emails them, or the admins when nobody can take it).
        assign_new_enquiry(enquiry, now)
    return enquiry


def _record_by_hand(enquiry, recorded, now):
    from crm.core.audit import record_audit

    if recorded.assignee_id is not None:
        assign_recorded_enquiry(enquiry, recorded.assignee_id, recorded.actor, now)
    record_audit("enquiry.recorded", actor=recorded.actor, target_type="enquiry", target_id=enquiry.reference)


def _acknowledgement_queued(enquiry):
    return any(a.kind == "email_queued" and a.details.get("to") == "prospect" for a in enquiry.activities)


def _queue_enquiry_emails(enquiry, contact, acknowledge=True):
    base_url = current_app.config["CRM_BASE_URL"]
    if acknowledge and acknowledgement_due(contact, enquiry.created_at):
        with force_locale(enquiry.language):  # the prospect's language, includes too
            ack = queue_email(
                "enquiry_received", contact.email, "enquiries/received", language=enquiry.language,
                enquiry=enquiry, contact=contact, name=greeting_name(contact.name),
                reference=enquiry.reference, sector=enquiry.sector, topic=enquiry.topic,
                response_due_at=enquiry.response_due_at,
                privacy_url=f"{base_url}/privacy?lang={enquiry.language}",
            )
        if ack is not None:  # None: the person withdrew their consent
            contact.acknowledged_at = enquiry.created_at
            db.session.add(Activity(
                enquiry=enquiry, kind="email_queued", details={"kind": ack.kind, "to": "prospect"},
            ))
