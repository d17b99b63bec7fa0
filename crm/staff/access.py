"""Access control for staff and admin routes, decided on the server on every request."""

from functools import wraps

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from crm.core.audit import record_audit
from crm.core.security import client_address
from crm.extensions import db


def _to_login():
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


# Where an admin who must enrol two-factor may still go (logout needs no login at all).
ENROLMENT_ENDPOINTS = {"account.two_factor"}


def _must_enrol_first():
    """In production an admin without TOTP reaches nothing but enrolment (CRM_REQUIRE_ADMIN_2FA)."""
    if (current_user.is_admin and current_app.config["CRM_REQUIRE_ADMIN_2FA"]
            and not current_user.has_two_factor and request.endpoint not in ENROLMENT_ENDPOINTS):
        flash("Set up two-factor sign-in before you use the staff pages.", "info")
        return redirect(url_for("account.two_factor"), code=303 if request.method == "POST" else 302)
    return None


def staff_required(view):
    """Any active staff member; anonymous visitors go to the login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _to_login()
        return _must_enrol_first() or view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Admins only: anonymous → login, a manager → 403 (and the refusal is audited)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _to_login()
        if not current_user.is_admin:
            refuse(403)
        return _must_enrol_first() or view(*args, **kwargs)

    return wrapped


def refuse(status):
    """Record a refused access in the audit log, then answer `status` (403 or 404)."""
    record_audit("access.denied", actor=current_user, target_type="path",
                 target_id=request.path[:64], ip_address=client_address())
    db.session.commit()
    abort(status)
