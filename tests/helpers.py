"""Small helpers shared by the tests."""

import re

import sqlalchemy as sa

from crm.extensions import db


def valid_payload(**overrides):
    payload = {
        "name": "Ada Jensen",
        "email": "ada@example.com",
        "company": "Nordic Implants ApS",
        "phone": "+45 20 12 34 56",
        "country": "DK",
        "sector": "medtech",
        "topic": "establishment",
        "message": "We plan a European R&D site and would like to visit Aalborg.",
        "consent": True,
        "policy_version": "2026-01",
        "language": "en",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}


def count(app, model, *where):
    """Rows of `model` now, read in a fresh app context (no stale snapshot)."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def all_rows(app, model):
    with app.app_context():
        rows = db.session.scalars(sa.select(model).order_by(model.id)).all()
        db.session.expunge_all()
        return rows


def stored_counts(app):
    """How many rows each personal-data table holds: to prove that nothing was stored."""
    from crm.core.models import Activity, Consent, Contact, Enquiry, IdempotencyKey, OutboxMessage

    return {m.__name__: count(app, m) for m in (Contact, Enquiry, Consent, Activity, OutboxMessage,
                                                 IdempotencyKey)}


NOTHING_STORED = {"Contact": 0, "Enquiry": 0, "Consent": 0, "Activity": 0, "OutboxMessage": 0,
                  "IdempotencyKey": 0}


def hidden_value(html, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    return match.group(1) if match else None


def csrf_token(client, path="/password/forgot"):
    """The CSRF token of `client`'s session, read from a page that renders a form."""
    return hidden_value(client.get(path).text, "csrf_token")


def audit_actions(app):
    """The audit log's actions in order."""
    from crm.core.audit import AuditLog

    with app.app_context():
        return list(db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))


def make_enquiry(app, *, assignee_id=None, status="new", created_at=None, email=None, name="Ada Jensen",
                 sector="medtech", topic="establishment"):
    """Insert one enquiry with its contact, consent and first timeline entry; returns its reference."""
    import secrets

    from crm.core.db import utcnow
    from crm.enquiries.models import Activity, Consent, Contact, Enquiry
    from crm.enquiries.policy import current_policy
    from crm.enquiries.references import new_reference

    with app.app_context():
        now = created_at or utcnow()
        contact = Contact(email=email or f"prospect-{secrets.token_hex(4)}@example.com", name=name,
                          company="Nordic Implants ApS", phone="+45 20 12 34 56", country="DK")
        enquiry = Enquiry(reference=new_reference(), contact=contact, sector=sector, topic=topic,
                          message="We plan a European R&D site.", language="en", source="form",
                          status=status, assignee_id=assignee_id, created_at=now, last_activity_at=now)
        policy = current_policy()
        db.session.add_all([contact, enquiry, Activity(enquiry=enquiry, kind="created", created_at=now,
                                                       details={"source": "form"}),
                            Consent(contact=contact, enquiry=enquiry, policy_version=policy.version,
                                    policy_sha256=policy.sha256, method="form", given_at=now)])
        db.session.commit()
        return enquiry.reference
