"""The time trap of the public form: a signed, single-use note of when the form was first served.

A person needs a few seconds to fill in the form; a script posts at once. The token says when
this visitor was *first* given the form, and every re-render (a field error, a post that came too
soon, a rate limit) carries that first time forward in a fresh token: a person who fixes an error
and sends again at once is never trapped. A token is spent when a post uses it (a row in
`spent_form_tokens`, shared by every process), so one served form cannot time many posts, and it
expires after TOKEN_LIFETIME. A post that fails the trap gets the form back with everything it
typed (never a false thank-you); only the honeypot is answered with the thanks page.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from crm.core.db import utcnow
from crm.enquiries.models import SpentFormToken
from crm.extensions import db

TOKEN_LIFETIME = timedelta(hours=4)
# Clocks of several hosts differ a little; a first-served time further ahead is forged or broken.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class TrapVerdict:
    passed: bool
    # When the visitor was first served the form (epoch seconds): the re-rendered form keeps it.
    first_served: float


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="enquiry-form-served")


def issue_token(first_served=None):
    """A new signed token for the hidden `started` field: a fresh nonce, the first-served time."""
    first = utcnow().timestamp() if first_served is None else first_served
    return _serializer().dumps({"n": secrets.token_hex(16), "t": first})


def _read(token):
    """(nonce, first_served) of a token this site signed, or None."""
    try:
        data = _serializer().loads(token or "")
        nonce, first = data["n"], float(data["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if not isinstance(nonce, str) or len(nonce) != 32:
        return None
    return nonce, first


def spring_time_trap(token, min_seconds, clock=utcnow):
    """Judge a posted form by its token and spend the token; returns a TrapVerdict.

    Passed: the token is genuine, unspent, younger than TOKEN_LIFETIME and at least
    `min_seconds` old. Too soon: the first-served time is carried on. Missing, forged, replayed
    or stale: the clock starts again now (the visitor is asked to send again, nothing is lost).
    """
    now = clock()
    if not min_seconds:
        return TrapVerdict(True, now.timestamp())
    read = _read(token)
    if read is None:
        return TrapVerdict(False, now.timestamp())
    nonce, first = read
    age = now.timestamp() - first
    if age > TOKEN_LIFETIME.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        return TrapVerdict(False, now.timestamp())
    if not spend_form_token(nonce, clock=clock):
        return TrapVerdict(False, now.timestamp())
    return TrapVerdict(age >= min_seconds, first)


def spend_form_token(nonce, clock=utcnow):
    """Record `nonce` as used; False when it was used before (by any process). One transaction.

    The primary key settles a race between two posts of the same token: one insert wins.
    """
    now = clock()
    db.session.execute(sa.delete(SpentFormToken).where(SpentFormToken.spent_at < now - TOKEN_LIFETIME))
    db.session.add(SpentFormToken(nonce=nonce, spent_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
