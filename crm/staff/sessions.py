"""Server-side staff sessions.

Flask's session is a signed cookie: it cannot be taken back once issued. So a login stores a
random token in that cookie and only the token's SHA-256 in `user_sessions`; every request looks
the row up (in the user loader), and logout, a password change or reset, and deactivation revoke
rows. A cookie copied before any of those is worthless afterwards.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.staff.models import User, UserSession

# last_seen_at is written at most this often: one write a minute, not one per request.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def add_session(user, *, ip_address=None, user_agent=None):
    """Add a session row for `user` to the current transaction; returns the secret token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                               last_seen_at=now, ip_address=ip_address, user_agent=user_agent))
    return token


def revoke_sessions(user_id, *, only_token=None):
    """Revoke every live session of `user_id` (or only the one of `only_token`)."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id,
                                         UserSession.revoked_at.is_(None))
    if only_token is not None:
        query = query.where(UserSession.token_hash == token_hash(only_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def resume_session(user_id, token, *, idle, max_age):
    """The active user whose live session `token` is, or None (and the caller is anonymous).

    Refused: an unknown or revoked token, a token of another user, a session idle longer than
    `idle` or older than `max_age`, an inactive account or one without a password.
    """
    if not token or not isinstance(token, str):
        return None
    row = db.session.execute(
        sa.select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    record, user = row
    now = utcnow()
    if (record.user_id != user_id or record.revoked_at is not None
            or now - record.last_seen_at > idle or now - record.created_at > max_age
            or not user.active or user.password_hash is None):
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        record.last_seen_at = now
        db.session.commit()
    return user
