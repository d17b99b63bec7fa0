"""Withdrawal of consent (Art. 7(3)): a signed link in every email to a prospect.

The link carries the enquiry's reference (or the contact's id) and a short keyed hash of the
address, signed and timed by itsdangerous: no address in the URL (URLs end up in logs), and a
link stops working once the person it was made for is erased, even if the address returns.
After withdrawal no email goes to that person: queued mail is deleted (mail a worker holds is
marked cancelled, and the worker checks right before sending), and `queue_email` skips them
until they give consent again with a new enquiry.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import Activity, Consent, Contact, Enquiry
from crm.enquiries.pending import delete_pending_for, pending_for
from crm.extensions import db
from crm.gdpr.subjects import ANONYMOUS_EMAIL, email_hmac
from crm.notifications.models import OutboxMessage


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="crm.gdpr.withdraw")


def _max_age():
    # A link lives as long as the data it is about may be kept (then retention erases it all).
    return int(timedelta(days=current_app.config["CRM_RETENTION_DAYS"] + 30).total_seconds())


def _fingerprint(email):
    return email_hmac(email)[:32]


def withdraw_token(contact, enquiry=None):
    """The token for `contact`'s withdrawal link (works before the rows are flushed)."""
    if enquiry is not None and enquiry.reference:
        data = {"r": enquiry.reference}
    else:
        if contact.id is None:
            db.session.flush()
        data = {"c": contact.id}
    return _token(data, contact.email)


def _token(data, email):
    return _serializer().dumps({**data, "h": _fingerprint(email)})


def _url(token):
    return f"{current_app.config['CRM_BASE_URL']}/privacy/withdraw/{token}"


def withdraw_url(contact, enquiry=None):
    return _url(withdraw_token(contact, enquiry))


def enquiry_withdraw_url(email, reference):
    """The link for the person at `email` in mail about the enquiry `reference` (plain values:
    the submission path writes its rows without ORM objects)."""
    return _url(_token({"r": reference}, email))


def contact_for_token(token):
    """The contact a withdrawal token was made for, or None (forged, expired, or erased since)."""
    try:
        data = _serializer().loads(token or "", max_age=_max_age())
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("h"), str):
        return None
    if isinstance(data.get("r"), str):
        contact = db.session.scalar(
            sa.select(Contact).join(Enquiry, Enquiry.contact_id == Contact.id)
            .where(Enquiry.reference == data["r"])
        )
    elif isinstance(data.get("c"), int):
        contact = db.session.get(Contact, data["c"])
    else:
        return None
    if contact is None or contact.email == ANONYMOUS_EMAIL or data["h"] != _fingerprint(contact.email):
        return None
    return contact


def consent_withdrawn(contact):
    """True when the person withdrew consent and has not given it again since.

    Staff actions that email a prospect (replies) refuse when this is true; `queue_email` skips
    such a recipient. A consent added in the current transaction (a new enquiry) counts.
    """
    if contact is None or contact.id is None:
        return False
    if any(isinstance(o, Consent) and o.contact is contact and o.withdrawn_at is None
           for o in db.session.new):
        return False
    with db.session.no_autoflush:
        given, withdrawn = db.session.execute(
            sa.select(sa.func.count(Consent.id), sa.func.count(Consent.withdrawn_at))
            .where(Consent.contact_id == contact.id)
        ).one()
    return withdrawn > 0 and withdrawn == given


def withdraw_consent(contact, *, ip_address=None, clock=utcnow):
    """Withdraw every consent of `contact` and cancel mail queued to them; returns how many
    queued emails were cancelled. Withdrawing twice changes nothing the second time."""
    now = clock()
    consents = db.session.scalars(
        sa.select(Consent).where(Consent.contact_id == contact.id, Consent.withdrawn_at.is_(None))
    ).all()
    if not consents and not pending_for(contact.email):
        return 0
    for consent in consents:
        consent.withdrawn_at = now
    # Pending mail to them is deleted (it is personal data with no purpose left). A message a
    # worker holds under its lease is marked cancelled instead: the worker reads the row again
    # right before sending and leaves it (crm.notifications.worker.still_to_send).
    # Mail to a staff account (user_id) is staff mail, even to the same address: a colleague who
    # once enquired keeps their invitations and reset links.
    to_them = sa.and_(OutboxMessage.status == "pending",
                      sa.or_(OutboxMessage.contact_id == contact.id,
                             sa.and_(OutboxMessage.user_id.is_(None),
                                     sa.func.lower(OutboxMessage.recipient) == contact.email)))
    leased = sa.and_(OutboxMessage.claimed_until.is_not(None), OutboxMessage.claimed_until >= now)
    cancelled = db.session.execute(
        sa.update(OutboxMessage).where(to_them, leased)
        .values(status="cancelled", claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    cancelled += db.session.execute(
        sa.delete(OutboxMessage).where(to_them, ~leased)
        .execution_options(synchronize_session=False)
    ).rowcount
    for enquiry_id in db.session.scalars(sa.select(Enquiry.id).where(Enquiry.contact_id == contact.id)):
        db.session.add(Activity(enquiry_id=enquiry_id, kind="consent_withdrawn", created_at=now,
                                details={"cancelled_emails": cancelled}))
    record_audit("consent.withdrawn", target_type="contact", target_id=contact.id,
                 ip_address=ip_address)
    # A submission still in the intake queue carries a consent not yet stored: it goes too
    # (the worker finds nothing to store), rather than becoming an enquiry that emails them.
    # Last: on SQLite the main file's lock first, then the intake file's, as the worker takes them.
    delete_pending_for(contact.email)
    db.session.commit()
    return cancelled
