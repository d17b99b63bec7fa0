"""Data-subject rights: what is held about a person."""

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import record_audit
from crm.enquiries.models import Activity, Consent, Contact, Enquiry
from crm.enquiries.validation import EmailNotValidError, normalise_email
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.notifications.models import OutboxMessage


def email_hmac(email):
    """Keyed hash of a normalised email: recognises an address without storing it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _subject_email(email):
    try:
        return normalise_email(email)
    except EmailNotValidError:
        return (email or "").strip().lower()


def export_subject(email, *, actor=None, ip_address=None):
    """Everything held about the person with `email`, as JSON-ready data; audited."""
    email = _subject_email(email)
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == email))
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
        "erased": tombstone is not None,
        "erased_at": _iso(tombstone.erased_at) if tombstone else None,
    }
    if contact is not None:
        _fill(result, contact)
    record_audit("gdpr.subject_exported", actor=actor, target_type="contact",
                 target_id=contact.id if contact else None, ip_address=ip_address)
    db.session.commit()
    return result


def _fill(result, contact):
    result["contact"] = {
        "id": contact.id, "email": contact.email, "name": contact.name, "company": contact.company,
        "phone": contact.phone, "country": contact.country,
        "created_at": _iso(contact.created_at), "updated_at": _iso(contact.updated_at),
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
            "policy_sha256": c.policy_sha256, "method": c.method, "evidence": c.evidence,
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
        .where(sa.or_(OutboxMessage.contact_id == contact.id,
                      OutboxMessage.enquiry_id.in_(references) if references else sa.false(),
                      OutboxMessage.recipient == contact.email))
        .order_by(OutboxMessage.id)
    ):
        result["emails"].append({
            "reference": references.get(m.enquiry_id), "kind": m.kind, "to": m.recipient,
            "subject": m.subject, "text": m.text, "status": m.status,
            "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at),
        })
