"""Naming a data subject without storing them: normalised email and its keyed hash."""

import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app

from crm.enquiries.models import Contact
from crm.enquiries.validation import EmailNotValidError, normalise_email
from crm.extensions import db

# Erased enquiries keep their anonymous figures on this one placeholder contact. `.invalid` is
# reserved (RFC 2606) and refused by the enquiry validator, so no real person can be it.
ANONYMOUS_EMAIL = "erased@anonymous.invalid"


def subject_email(email):
    """The normalised form of `email`, as contacts are stored; lower-cased when it is not valid."""
    try:
        return normalise_email(email)
    except EmailNotValidError:
        return (email or "").strip().lower()


def email_hmac(email):
    """Keyed hash of a normalised email: recognises an address without storing it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()


def contact_for(email):
    """The contact with this (normalised) email, or None; the anonymous placeholder is no one."""
    if email == ANONYMOUS_EMAIL:
        return None
    return db.session.scalar(sa.select(Contact).where(Contact.email == email))


def anonymous_contact():
    """The placeholder that erased enquiries point to (created on first use)."""
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == ANONYMOUS_EMAIL))
    if contact is None:
        contact = Contact(email=ANONYMOUS_EMAIL, name="", company="", phone="", country="")
        db.session.add(contact)
        db.session.flush()
    return contact
