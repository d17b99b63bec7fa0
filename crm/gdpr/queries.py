"""Read-only queries behind the GDPR hub."""

import sqlalchemy as sa

from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.gdpr.subjects import contact_for, email_hmac, subject_email


def subject_summary(email):
    """What is held about `email` at a glance, and whether that address was erased before."""
    email = subject_email(email)
    contact = contact_for(email)
    tombstone = db.session.scalar(
        sa.select(ErasureTombstone).where(ErasureTombstone.email_hmac == email_hmac(email))
    )
    enquiries, consents = [], []
    if contact is not None:
        enquiries = db.session.execute(
            sa.select(Enquiry.id, Enquiry.reference).where(Enquiry.contact_id == contact.id)
            .order_by(Enquiry.id)
        ).all()
        consents = db.session.scalars(
            sa.select(Consent).where(Consent.contact_id == contact.id).order_by(Consent.id)
        ).all()
    # (id, reference) of each enquiry: the page links each to its audit entries (who looked).
    return {"email": email, "contact": contact, "enquiries": enquiries,
            "references": [reference for _, reference in enquiries], "consents": consents,
            "tombstone": tombstone}


def consent_summary():
    """Consents per policy version: given, still active, withdrawn (the register at a glance)."""
    from crm.gdpr.subjects import ANONYMOUS_EMAIL

    rows = db.session.execute(
        sa.select(Consent.policy_version, sa.func.count(),
                  sa.func.count(Consent.withdrawn_at))
        .join(Contact, Contact.id == Consent.contact_id)
        .where(Contact.email != ANONYMOUS_EMAIL)
        .group_by(Consent.policy_version).order_by(Consent.policy_version)
    ).all()
    return [{"policy_version": v, "given": n, "withdrawn": w, "active": n - w} for v, n, w in rows]


def last_purge_runs(limit=5):
    from crm.gdpr.models import PurgeRun

    return db.session.scalars(sa.select(PurgeRun).order_by(PurgeRun.id.desc()).limit(limit)).all()
