"""Use cases of staff accounts: creation, invitation, login, sessions, passwords, two-factor.

Each function owns one transaction and writes its audit rows; audit rows name users by id only.
"""

from datetime import date

import sqlalchemy as sa
from flask import current_app

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.enquiries.validation import EmailNotValidError, normalise_email
from crm.extensions import db
from crm.notifications.services import queue_email
from crm.staff import two_factor
from crm.staff.models import ROLES, RecoveryCode, User
from crm.staff.passwords import hash_password, needs_rehash, password_problem, verify_password
from crm.staff.sessions import add_session, revoke_sessions
from crm.staff.tokens import make_token, user_for_token


class AccountInvalid(Exception):
    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


def _codes(values, vocabulary, field, errors):
    values = [v.strip() for v in values or [] if v and v.strip()]
    unknown = [v for v in values if v not in vocabulary]
    if unknown:
        errors[field] = [f"Unknown: {', '.join(unknown)}. Choose from {', '.join(vocabulary)}."]
    return values


class TokenInvalid(Exception):
    """A reset or invitation link that is forged, expired or used already."""


class LastAdmin(Exception):
    """The change would leave no active admin."""


GENERIC_LOGIN_ERROR = "The email or password is not right."
# Verifying against this when the email is unknown makes both failures cost the same time.
_DUMMY_HASH = None


def _check_account_fields(errors, *, email=None, name=None, role, title, sectors, topics,
                          languages=()):
    if email is not None:
        try:
            email = normalise_email((email or "").strip())
        except EmailNotValidError as error:
            errors["email"] = [str(error)]
        else:
            if db.session.scalar(sa.select(User.id).where(User.email == email)):
                errors["email"] = ["A staff account with this email exists already."]
    if name is not None:
        name = (name or "").strip()
        if not name or len(name) > 200:
            errors["name"] = ["Give a name of 1 to 200 characters."]
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    title = (title or "").strip()
    if len(title) > 200:
        errors["title"] = ["Use at most 200 characters."]
    return dict(
        email=email, name=name, role=role, title=title,
        sectors=_codes(sectors, SECTORS, "sectors", errors),
        topics=_codes(topics, TOPICS, "topics", errors),
        languages=_codes(languages, LANGUAGES, "languages", errors),
    )


def create_user(*, email, name, role, password, title="", sectors=(), topics=(), languages=(),
                away_until=None, actor=None):
    """Create a staff account; raises AccountInvalid with every problem, storing nothing."""
    errors = {}
    clean = _check_account_fields(errors, email=email, name=name, role=role, title=title,
                                  sectors=sectors, topics=topics, languages=languages)
    if problem := password_problem(password):
        errors["password"] = [problem]
    if away_until is not None and not isinstance(away_until, date):
        errors["away_until"] = ["Give a date (YYYY-MM-DD)."]
    if errors:
        raise AccountInvalid(errors)
    user = User(**clean, away_until=away_until, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    record_audit("user.created", actor=actor, target_type="user", target_id=user.id)
    db.session.commit()
    return user


def _link(endpoint_path):
    return f"{current_app.config['CRM_BASE_URL']}{endpoint_path}"


def invite_user(*, email, name, role, title="", sectors=(), topics=(), languages=(), actor,
                ip_address=None):
    """Create an account without a password and email a single-use link to choose one."""
    errors = {}
    clean = _check_account_fields(errors, email=email, name=name, role=role, title=title,
                                  sectors=sectors, topics=topics, languages=languages)
    if errors:
        raise AccountInvalid(errors)
    user = User(**clean, password_hash=None, active=True)
    db.session.add(user)
    db.session.flush()
    token = make_token(user, "invite")
    queue_email("staff_invite", user.email, "staff/invite", user=user, name=user.name,
                inviter=actor.name, role=user.role,
                url=_link(f"/password/set/{token}"),
                days=current_app.config["CRM_INVITE_MAX_AGE"] // 86400)
    record_audit("user.invited", actor=actor, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()
    return user


def _lock_active_admins():
    """Ids of the active admins, locked (PostgreSQL) so that two admins cannot demote each other."""
    return set(db.session.scalars(
        sa.select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
    ))


def update_user(user, *, role, title, sectors, topics, away_until, actor, languages=None,
                ip_address=None):
    """Change what an admin may change of an account; the last active admin keeps the role.
    `languages=None` leaves the languages as they are."""
    errors = {}
    clean = _check_account_fields(errors, role=role, title=title, sectors=sectors, topics=topics,
                                  languages=user.languages if languages is None else languages)
    if away_until is not None and not isinstance(away_until, date):
        errors["away_until"] = ["Give a date (YYYY-MM-DD)."]
    if errors:
        raise AccountInvalid(errors)
    if user.role == "admin" and role != "admin" and _lock_active_admins() <= {user.id}:
        db.session.rollback()
        raise LastAdmin()
    old_role = user.role
    user.role, user.title = role, clean["title"]
    user.sectors, user.topics, user.away_until = clean["sectors"], clean["topics"], away_until
    user.languages = clean["languages"]
    if old_role != role:
        record_audit("user.role_changed", actor=actor, target_type="user", target_id=user.id,
                     ip_address=ip_address)
    record_audit("user.updated", actor=actor, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()


def deactivate_user(user, *, actor, ip_address=None):
    """Deactivate an account and end all its sessions at once; never the last active admin."""
    if user.role == "admin" and user.active and _lock_active_admins() <= {user.id}:
        db.session.rollback()
        raise LastAdmin()
    user.active = False
    revoke_sessions(user.id)
    record_audit("user.deactivated", actor=actor, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()


def reactivate_user(user, *, actor, ip_address=None):
    """Let a deactivated account log in again (its old sessions stay ended)."""
    user.active = True
    record_audit("user.reactivated", actor=actor, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()


def login_email(value):
    """The normalised form of an email typed at login, or None when it cannot be an address."""
    if not isinstance(value, str) or len(value) > 320:
        return None
    try:
        return normalise_email(value.strip())
    except EmailNotValidError:
        return None


def authenticate(email, password, *, ip_address=None):
    """The active user with this email and password, or None (and the failure is audited).

    An unknown email and a wrong password cost the same argon2 verification and leave the
    same audit action, so neither the answer nor its timing tells them apart.
    """
    global _DUMMY_HASH
    email = login_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is None or user.password_hash is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password("not a password of anyone here")
        verify_password(_DUMMY_HASH, password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "")
    if not ok or not user.active:
        record_audit("login.failed", target_type="user" if user else None,
                     target_id=user.id if user else None, ip_address=ip_address)
        db.session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def log_in(user, *, ip_address=None, user_agent=None):
    """Start a server-side session for `user`; returns its token for the session cookie."""
    token = add_session(user, ip_address=ip_address, user_agent=user_agent)
    user.last_login_at = utcnow()
    record_audit("login", actor=user, target_type="user", target_id=user.id, ip_address=ip_address)
    db.session.commit()
    return token


def log_out(user, token, *, ip_address=None):
    """End the session of `token` on the server."""
    revoke_sessions(user.id, only_token=token)
    record_audit("logout", actor=user, target_type="user", target_id=user.id, ip_address=ip_address)
    db.session.commit()


def change_password(user, *, current_password, new_password, ip_address=None, user_agent=None):
    """Change a password: every session of the user ends; returns the token of a new one."""
    errors = {}
    if not verify_password(user.password_hash, current_password or ""):
        errors["current_password"] = ["This is not your current password."]
    if problem := password_problem(new_password):
        errors["password"] = [problem]
    if errors:
        record_audit("password.change_failed", actor=user, target_type="user", target_id=user.id,
                     ip_address=ip_address)
        db.session.commit()
        raise AccountInvalid(errors)
    user.password_hash = hash_password(new_password)
    revoke_sessions(user.id)
    token = add_session(user, ip_address=ip_address, user_agent=user_agent)
    record_audit("password.changed", actor=user, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()
    return token


def request_password_reset(email, *, ip_address=None):
    """Email a reset link if `email` is an active account; does the same visible nothing else."""
    email = login_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email, User.active.is_(True)))
    if email is None or user is None:
        return
    token = make_token(user, "password-reset")
    queue_email("password_reset", user.email, "staff/password_reset", user=user, name=user.name,
                url=_link(f"/password/reset/{token}"),
                minutes=current_app.config["CRM_PASSWORD_RESET_MAX_AGE"] // 60)
    record_audit("password.reset_requested", target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()


def user_for_link(token, purpose):
    """The user a reset (`password-reset`) or invitation (`invite`) link is valid for, or None."""
    key = "CRM_PASSWORD_RESET_MAX_AGE" if purpose == "password-reset" else "CRM_INVITE_MAX_AGE"
    return user_for_token(token, purpose, current_app.config[key])


def set_password_from_link(token, purpose, new_password, *, ip_address=None):
    """Set a password through a reset or invitation link; ends every session of the user.

    Raises TokenInvalid (forged, expired, used) or AccountInvalid (a bad password); nothing
    changes then. The link works once: the new hash no longer matches its fingerprint.
    """
    user = user_for_link(token, purpose)
    if user is None:
        raise TokenInvalid()
    if problem := password_problem(new_password):
        raise AccountInvalid({"password": [problem]})
    user.password_hash = hash_password(new_password)
    revoke_sessions(user.id)
    action = "password.reset" if purpose == "password-reset" else "user.invite_accepted"
    record_audit(action, actor=user, target_type="user", target_id=user.id, ip_address=ip_address)
    db.session.commit()
    return user


def enable_two_factor(user, *, secret, code, ip_address=None):
    """Turn on TOTP once the user proves their app has `secret`; returns fresh recovery codes."""
    step = two_factor.matching_step(secret, code, utcnow())
    if step is None:
        record_audit("2fa.enrol_failed", actor=user, target_type="user", target_id=user.id,
                     ip_address=ip_address)
        db.session.commit()
        raise AccountInvalid({"code": ["That code is not right. Check your device's clock."]})
    user.totp_secret = secret
    user.totp_last_counter = step
    codes = two_factor.new_recovery_codes()
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=two_factor.recovery_code_hash(c))
                       for c in codes)
    record_audit("2fa.enabled", actor=user, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()
    return codes


def disable_two_factor(user, *, password, ip_address=None):
    """Turn TOTP off (the password is asked again); recovery codes are deleted."""
    if not verify_password(user.password_hash, password or ""):
        record_audit("2fa.disable_failed", actor=user, target_type="user", target_id=user.id,
                     ip_address=ip_address)
        db.session.commit()
        raise AccountInvalid({"password": ["This is not your current password."]})
    user.totp_secret = None
    user.totp_last_counter = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_audit("2fa.disabled", actor=user, target_type="user", target_id=user.id,
                 ip_address=ip_address)
    db.session.commit()


def verify_second_factor(user, code, *, ip_address=None):
    """True for a TOTP code not used before or an unused recovery code (which is then used up)."""
    ok = False
    step = two_factor.matching_step(user.totp_secret, code, utcnow()) if user.totp_secret else None
    if step is not None and (user.totp_last_counter is None or step > user.totp_last_counter):
        user.totp_last_counter = step
        ok = True
    elif step is None and two_factor.looks_like_recovery_code(code):
        used = db.session.execute(
            sa.update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                   RecoveryCode.code_hash == two_factor.recovery_code_hash(code))
            .values(used_at=utcnow())
        )
        ok = used.rowcount == 1
        if ok:
            record_audit("2fa.recovery_code_used", actor=user, target_type="user",
                         target_id=user.id, ip_address=ip_address)
    if not ok:
        record_audit("login.2fa_failed", target_type="user", target_id=user.id,
                     ip_address=ip_address)
    db.session.commit()
    return ok


def remaining_recovery_codes(user):
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
