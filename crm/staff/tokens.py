"""Signed, expiring, single-use links for password reset and invitations.

A token carries the user's id and a fingerprint of their current password hash. Setting a
password changes the hash (a new salt every time), so a token works once; the signature's
timestamp makes it expire. Nothing is stored.
"""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from crm.extensions import db
from crm.staff.models import User

PURPOSES = ("password-reset", "invite")


def _serializer(purpose):
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"crm.staff.{purpose}")


def _fingerprint(user):
    material = f"{user.id}:{user.email}:{user.password_hash or 'no-password'}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def make_token(user, purpose):
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token, purpose, max_age):
    """The active user `token` was made for, or None if it is forged, expired or used."""
    try:
        data = _serializer(purpose).loads(token or "", max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user
