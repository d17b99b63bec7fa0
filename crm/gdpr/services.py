"""Data-subject rights: what is held about a person."""

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import record_audit
from crm.enquiries.models import Activity, Consent, Enquiry, IdempotencyKey
from crm.enquiries.pending import pending_for
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.gdpr.subjects import contact_for, email_hmac, subject_email
from crm.notifications.models import OutboxMessage

__all__ = ["email_hmac", "export_subject", "art15_information"]

# The personal columns the export answers with (crm/gdpr/classification.py checks that every
# column holding a subject's data is here); ids and links appear as references.
EXPORTED_COLUMNS = {
    "contacts": ("email", "name", "company", "phone", "country", "created_at", "updated_at",
                 "acknowledged_at"),
    "enquiries": ("contact_id", "message", "lost_reason"),
    "consents": ("contact_id", "enquiry_id", "purpose", "lawful_basis", "policy_version",
                 "policy_sha256", "method", "evidence", "given_at", "ip_address", "user_agent",
                 "withdrawn_at", "policy_language"),
    "activities": ("kind", "details", "created_at"),
    "outbox_messages": ("kind", "recipient", "subject", "text", "html", "status", "last_error",
                        "created_at", "sent_at"),
    "idempotency_keys": ("key", "request_sha256", "response", "created_at"),
    "intake": ("reference", "name", "email", "company", "phone", "country", "sector", "topic",
               "message", "language", "policy_version", "policy_language", "ip_address",
               "user_agent", "received_at", "last_error"),
    # A count keyed by the same text as enquiries.lost_reason, which the export gives.
    "dashboard_closings": ("lost_reason",),
}


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def art15_information():
    """What Art. 15(1) says the answer to an access request must tell the person."""
    config = current_app.config
    return {
        "controller": config["CRM_ORGANISATION"],
        "purposes": [
            "answering your enquiry about investing or establishing in the Aalborg area",
            "following up your enquiry (meetings, proposals, aftercare of a landed investment)",
            "proving the consent you gave",
            "anonymous statistics (enquiries, jobs and capex by sector)",
        ],
        "lawful_basis": "consent (Art. 6(1)(a)); you may withdraw it at any time",
        "categories": ["identity and contact details (name, email, phone, company, country)",
                       "the messages you sent and the notes and replies about them",
                       "emails sent to you", "consent evidence (time, policy, client address, "
                       "user agent)"],
        "recipients": [f"investment managers and administrators of {config['CRM_ORGANISATION']}",
                       "our email delivery provider", "our hosting provider"],
        "transfers_to_third_countries": "none",
        "retention": {
            "closed_enquiries_days_after_last_activity": config["CRM_RETENTION_DAYS"],
            "spam_days": 30,
            "sent_emails_days": config["CRM_OUTBOX_RETENTION_DAYS"],
        },
        "rights": ["access (Art. 15)", "rectification (Art. 16)", "erasure (Art. 17)",
                   "restriction (Art. 18)", "portability (Art. 20)", "objection (Art. 21)",
                   "withdrawal of consent at any time (Art. 7(3))",
                   "complaint to the Danish Data Protection Agency (Datatilsynet)"],
        "source": "you, through our enquiry form, our website's API, or a conversation with our staff",
        "automated_decision_making": "none; enquiries are assigned to a manager by fixed rules",
    }


def export_subject(email, *, actor=None, ip_address=None):
    """Everything held about the person with `email`, as JSON-ready data; audited."""
    email = subject_email(email)
    contact = contact_for(email)
    tombstone = db.session.scalar(
        sa.select(ErasureTombstone).where(ErasureTombstone.email_hmac == email_hmac(email))
    )
    result = {
        "email": email,
        "contact": None,
        "enquiries": [],
        "consents": [],
        "notes": [],
        "emails": [],
        "timeline": [],
        "api_requests": [],
        # API submissions accepted by the intake queue and not yet stored (seconds, normally).
        "pending_submissions": [_pending(row) for row in pending_for(email)],
        "erased": tombstone is not None,
        "erased_at": _iso(tombstone.erased_at) if tombstone else None,
        "information": art15_information(),
    }
    if contact is not None:
        _fill(result, contact)
    record_audit("gdpr.subject_exported", actor=actor, target_type="contact",
                 target_id=contact.id if contact else None, ip_address=ip_address)
    db.session.commit()
    return result


def _pending(row):
    return {
        "reference": row.reference, "name": row.name, "email": row.email, "company": row.company,
        "phone": row.phone, "country": row.country, "sector": row.sector, "topic": row.topic,
        "message": row.message, "language": row.language, "policy_version": row.policy_version,
        "policy_language": row.policy_language, "ip_address": row.ip_address,
        "user_agent": row.user_agent, "received_at": _iso(row.received_at), "last_error": row.last_error,
    }


def _fill(result, contact):
    result["contact"] = {
        "id": contact.id, "email": contact.email, "name": contact.name, "company": contact.company,
        "phone": contact.phone, "country": contact.country,
        "created_at": _iso(contact.created_at), "updated_at": _iso(contact.updated_at),
        "acknowledged_at": _iso(contact.acknowledged_at),
    }
    enquiries = db.session.scalars(
        sa.select(Enquiry).where(Enquiry.contact_id == contact.id).order_by(Enquiry.id)
    ).all()
    references = {e.id: e.reference for e in enquiries}
    for e in enquiries:
        result["enquiries"].append({
            "reference": e.reference, "sector": e.sector, "topic": e.topic, "message": e.message,
            "language": e.language, "source": e.source, "status": e.status,
            "lost_reason": e.lost_reason,
            "next_follow_up_on": e.next_follow_up_on.isoformat() if e.next_follow_up_on else None,
            "created_at": _iso(e.created_at), "updated_at": _iso(e.updated_at),
        })
    for c in db.session.scalars(
        sa.select(Consent).where(Consent.contact_id == contact.id).order_by(Consent.id)
    ):
        result["consents"].append({
            "reference": references.get(c.enquiry_id), "purpose": c.purpose,
            "lawful_basis": c.lawful_basis, "policy_version": c.policy_version,
            "policy_sha256": c.policy_sha256, "policy_language": c.policy_language,
            "method": c.method, "evidence": c.evidence,
            "given_at": _iso(c.given_at), "ip_address": c.ip_address, "user_agent": c.user_agent,
            "withdrawn_at": _iso(c.withdrawn_at),
        })
    if references:
        for a in db.session.scalars(
            sa.select(Activity).where(Activity.enquiry_id.in_(references)).order_by(Activity.id)
        ):
            entry = {"reference": references[a.enquiry_id], "kind": a.kind, "details": a.details,
                     "actor": a.actor.name if a.actor else None, "at": _iso(a.created_at)}
            result["timeline"].append(entry)
            if a.kind == "note":
                result["notes"].append(entry)
    for m in db.session.scalars(
        sa.select(OutboxMessage)
        # Mail sent to the person (internal notifications about them are erased, not exported:
        # they name staff).
        .where(sa.or_(OutboxMessage.contact_id == contact.id,
                      OutboxMessage.recipient == contact.email))
        .order_by(OutboxMessage.id)
    ):
        result["emails"].append({
            "reference": references.get(m.enquiry_id), "kind": m.kind, "to": m.recipient,
            "subject": m.subject, "text": m.text, "html": m.html, "status": m.status,
            "last_error": m.last_error, "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at),
        })
    if references:
        for k in db.session.scalars(
            sa.select(IdempotencyKey).where(IdempotencyKey.enquiry_id.in_(references))
            .order_by(IdempotencyKey.created_at)
        ):
            result["api_requests"].append({
                "reference": references.get(k.enquiry_id), "idempotency_key": k.key,
                "request_sha256": k.request_sha256, "response": k.response,
                "created_at": _iso(k.created_at),
            })
