"""Throttles on every check of a secret: password, TOTP or recovery code, reset or invitation link.

Only wrong secrets count (a view calls `secret_failed()`); a refusal answers 429 and is audited.
Login follows OWASP's guidance against lockout: strict per (account, address), so a stranger
only ever locks out themselves; looser per account and per address, against guessing spread
over many addresses or many accounts. Account keys carry a digest of the password hash, so a
password reset starts them afresh: the owner gets in through a reset even while under attack.
"""

import hashlib

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import current_user

from crm.core.audit import record_audit
from crm.core.security import client_address
from crm.extensions import db, limiter
from crm.staff.models import User

PENDING_KEY = "pending_2fa"  # the Flask session key of a login waiting for its second step


def secret_failed():
    """Count this request against its throttles: a secret was checked and was wrong."""
    g.secret_failed = True


def _counts(response):
    return g.get("secret_failed", False)


def _generation(user):
    """Changes whenever the password is set (a new salt each time), so old counts stop counting."""
    if user is None or not user.password_hash:
        return "-"
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:12]


def _login_user():
    from crm.staff.services import login_email

    if "login_user" not in g:
        email = login_email(request.form.get("email", ""))
        g.login_user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
        g.login_email = email or request.form.get("email", "").strip().lower()[:254]
    return g.login_user


def _account():
    user = _login_user()
    return f"account:{g.login_email}:{_generation(user)}"


def _account_at_address():
    return f"{_account()}@{client_address()}"


def _pending_user():
    user_id = (session.get(PENDING_KEY) or {}).get("user_id")
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def _pending():
    user = _pending_user()
    return f"pending:{getattr(user, 'id', '-')}:{_generation(user)}"


def _signed_in():
    user = current_user if current_user.is_authenticated else None
    return f"user:{getattr(user, 'id', '-')}:{_generation(user)}"


def _audit_refusal(target):
    def on_breach(request_limit):
        user = target()
        record_audit("secret.throttled", actor=current_user if current_user.is_authenticated else None,
                     target_type="user" if user else "path",
                     target_id=user.id if user else request.path[:64], ip_address=client_address())
        db.session.commit()

    return on_breach


def _config(name):
    return lambda: current_app.config[name]


def _limit(config_name, key_func, scope, target, shared=False, methods=("POST",)):
    make = limiter.shared_limit if shared else limiter.limit
    options = dict(key_func=key_func, deduct_when=_counts, on_breach=_audit_refusal(target),
                   methods=list(methods) if methods else None)
    if shared:
        return make(_config(config_name), scope, **options)
    return make(_config(config_name), scope=scope, **options)


def _no_user():
    return None


def _current():
    return current_user if current_user.is_authenticated else None


# The password step of /login.
login_per_account_and_address = _limit("CRM_LOGIN_RATE_LIMIT", _account_at_address, "login-pair",
                                       _login_user)
login_per_account = _limit("CRM_LOGIN_ACCOUNT_RATE_LIMIT", _account, "login-account", _login_user)
login_per_address = _limit("CRM_LOGIN_ADDRESS_RATE_LIMIT", client_address, "login-address", _login_user)
# The second step: the password is known already, so the account's own limit is strict.
second_step_per_user = _limit("CRM_LOGIN_RATE_LIMIT", _pending, "login-2fa-user", _pending_user)
second_step_per_address = _limit("CRM_LOGIN_ADDRESS_RATE_LIMIT", client_address, "login-2fa-address",
                                 _pending_user)
# A signed-in person proving a secret again (current password, enrolment code): one count for
# all these forms, so that a stolen session cannot guess the password on any of them.
account_secret = _limit("CRM_LOGIN_RATE_LIMIT", _signed_in, "account-secret", _current, shared=True)
# Reset and invitation links are checked on every method, the page itself included.
link_per_address = _limit("CRM_LOGIN_ADDRESS_RATE_LIMIT", client_address, "link-address", _no_user,
                          shared=True, methods=None)
