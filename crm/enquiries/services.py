"""Use cases of enquiry capture. Each owns one transaction."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from crm.assignment.services import NewEnquiry, assign_new_enquiry, assign_recorded_enquiry
from crm.core.db import utcnow
from crm.enquiries.acknowledgements import acknowledgement_due, greeting_name
from crm.enquiries.models import Activity, Consent, Contact, Enquiry, IdempotencyKey
from crm.enquiries.policy import current_policy, policy_text
from crm.enquiries.references import new_reference
from crm.enquiries.validation import validate_enquiry
from crm.extensions import db
from crm.gdpr.withdrawal import enquiry_withdraw_url
from crm.notifications.services import email_row, insert_outbox_rows
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
            enquiry_id, submission = _store(clean, policy, source, ip_address, user_agent, recorded)
            if idempotency_key:
                db.session.connection().execute(_statements()["idempotency_key"], {
                    "key": idempotency_key, "request_sha256": fingerprint, "enquiry_id": enquiry_id,
                    "response": submission.as_json(), "created_at": utcnow(),
                })
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


# The submission path writes with Core statements built once: one statement per table, no
# unit of work (the ORM's flush of ten new objects was half of a submission's CPU).
@cache
def _statements():
    contacts, enquiries = Contact.__table__, Enquiry.__table__
    return dict(
        enquiry=sa.insert(enquiries).returning(enquiries.c.id),
        consent=sa.insert(Consent.__table__),
        activities=sa.insert(Activity.__table__),
        idempotency_key=sa.insert(IdempotencyKey.__table__),
        # A known contact is read and locked (PostgreSQL), then brought up to date: two
        # submissions from one address take turns, so that the acknowledgement limit holds.
        contact=sa.select(contacts.c.id, contacts.c.company, contacts.c.phone, contacts.c.acknowledged_at)
        .where(contacts.c.email == sa.bindparam("email")).with_for_update(),
        update_contact=sa.update(contacts).where(contacts.c.id == sa.bindparam("contact_id")),
        **{dialect: _contact_insert(module.insert(contacts), contacts)
           for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))},
    )


def _contact_insert(insert, contacts):
    """A first enquiry from an address creates its contact in one statement: RETURNING gives its id,
    and nothing when the address is known (also when another submission created it a moment
    ago: PostgreSQL waits for that one to commit), so that no race ends in an IntegrityError."""
    return insert.on_conflict_do_nothing(index_elements=[contacts.c.email]).returning(contacts.c.id)


def store_received_enquiry(received, policies=None):
    """Store an enquiry that the intake queue accepted (crm.enquiries.intake); no commit.

    `received` is a row of the `intake` table: fields validated by `validate_enquiry` before
    the 201, the reference the client was given, and when it arrived. The enquiry gets exactly
    what a synchronous API submission gets, dated when it was received. `policies`: a dict the
    caller keeps for a batch, so that each policy text is read once (a published text does not
    change).
    """
    policies = {} if policies is None else policies
    key = (received.policy_version, received.policy_language)
    if key not in policies:
        policies[key] = policy_text(*key)
    policy = policies[key]
    clean = {field: getattr(received, field) for field in (
        "name", "email", "company", "phone", "country", "sector", "topic", "message", "language",
        "policy_version")}
    return _store(clean, policy, "api", received.ip_address, received.user_agent,
                  reference=received.reference, now=received.received_at)


def _store(clean, policy, source, ip_address, user_agent, recorded=None, *, reference=None, now=None):
    """Write the enquiry and everything that goes with it; returns (enquiry id, Submission).

    `reference` and `now` are given for an enquiry accepted earlier by the intake queue.
    """
    now = now or utcnow()
    connection = db.session.connection()
    statements = _statements()
    acknowledge = recorded is None or recorded.acknowledge
    facts = dict(reference=reference or new_reference(), sector=clean["sector"], topic=clean["topic"],
                 language=clean["language"], country=clean["country"], company=clean["company"],
                 email=clean["email"])
    due = response_due(now)  # the promise: CRM_RESPONSE_TARGET_HOURS of working time
    # Rendered before the first write (the write lock, on SQLite): it is needed nearly always.
    acknowledgement = _acknowledgement(clean, facts, due, now) if acknowledge else None

    details = {"name": clean["name"], "country": clean["country"], "company": clean["company"] or "",
               "phone": clean["phone"] or "", "updated_at": now}
    contact_id = connection.execute(statements[connection.dialect.name], details | {
        "email": clean["email"], "created_at": now, "acknowledged_at": now if acknowledge else None,
    }).scalar()
    returning = contact_id is None
    if returning:
        # The latest enquiry carries the person's current details; an empty company or phone
        # keeps the one known.
        known = connection.execute(statements["contact"], {"email": clean["email"]}).one()
        contact_id = known.id
        acknowledge = acknowledge and acknowledgement_due(known.acknowledged_at, now)
        details.update(company=details["company"] or known.company or "", phone=details["phone"] or known.phone or "")
        connection.execute(statements["update_contact"], details | {"contact_id": contact_id} | (
            {"acknowledged_at": now} if acknowledge else {}))
    new = NewEnquiry(**facts | {"company": details["company"]}, returning=returning)
    activities = [Activity.row("created", now, {"source": source}, recorded.actor.id if recorded else None)]
    emails = []
    if acknowledge:
        activities.append(Activity.row("email_queued", now, {"kind": acknowledgement["kind"], "to": "prospect"}))
        emails.append(acknowledgement | {"contact_id": contact_id})
    if recorded is None:
        # The engine names the assignee (and emails them, or the admins when nobody can take it).
        assignee_id, assignment_activities, assignment_emails = assign_new_enquiry(new, now)
    elif recorded.assignee_id is not None:
        assignee_id = recorded.assignee_id
        assignment_activities, assignment_emails = assign_recorded_enquiry(new, assignee_id, recorded.actor, now)
    else:
        assignee_id, assignment_activities, assignment_emails = None, [], []

    enquiry_id = connection.execute(statements["enquiry"], {
        "reference": new.reference, "contact_id": contact_id, "sector": new.sector, "topic": new.topic,
        "message": clean["message"], "language": new.language, "source": source, "status": "new",
        "assignee_id": assignee_id, "response_due_at": due, "priority": "normal",
        "created_at": now, "updated_at": now, "last_activity_at": now,
    }).scalar_one()
    connection.execute(statements["consent"], {
        "contact_id": contact_id, "enquiry_id": enquiry_id, "purpose": "enquiry_handling",
        "lawful_basis": recorded.lawful_basis if recorded else "consent",
        "evidence": recorded.evidence if recorded else None,
        "policy_version": policy.version, "policy_sha256": policy.sha256,
        "policy_language": policy.language, "method": source, "given_at": now,
        "ip_address": ip_address, "user_agent": user_agent,
    })
    connection.execute(statements["activities"],
                       [row | {"enquiry_id": enquiry_id} for row in activities + assignment_activities])
    insert_outbox_rows([row | {"enquiry_id": enquiry_id} for row in emails + assignment_emails])
    if recorded:
        from crm.core.audit import record_audit

        record_audit("enquiry.recorded", actor=recorded.actor, target_type="enquiry", target_id=new.reference)
    return enquiry_id, Submission(reference=new.reference, acknowledged=bool(emails), response_due_at=due)


def _acknowledgement(clean, facts, due, now):
    """The acknowledgement to the prospect, in their language, as an outbox row's values.

    No consent check: they have just given it with this enquiry (or staff recorded their basis).
    """
    base_url = current_app.config["CRM_BASE_URL"]
    language = facts["language"]
    with force_locale(language):  # the prospect's language, includes too
        return email_row(
            "enquiry_received", clean["email"], "enquiries/received", language=language, now=now,
            name=greeting_name(clean["name"]), reference=facts["reference"], sector=facts["sector"],
            topic=facts["topic"], response_due_at=due, privacy_url=f"{base_url}/privacy?lang={language}",
            withdraw_url=enquiry_withdraw_url(clean["email"], facts["reference"]),
        )
