"""Login, two-factor step, logout and password reset (CONTRACT §5)."""

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm.core.security import client_address, user_agent
from crm.extensions import limiter
from crm.staff import throttles
from crm.staff.auth import SESSION_TOKEN_KEY
from crm.staff.forms import PASSWORD_HINT, ForgotPasswordForm, LoginForm, NewPasswordForm, TwoFactorForm
from crm.staff.navigation import after_login_url, safe_next
from crm.staff.queries import staff_member
from crm.staff.services import (
    GENERIC_LOGIN_ERROR,
    AccountInvalid,
    TokenInvalid,
    authenticate,
    log_in,
    log_out,
    login_email,
    request_password_reset,
    set_password_from_link,
    user_for_link,
    verify_second_factor,
)

bp = Blueprint("auth", __name__)


@bp.app_context_processor
def password_rules():
    return {"password_hint": PASSWORD_HINT}

PENDING_SECONDS = 300  # the password step is good for five minutes of the second step


def _login_limit():
    return current_app.config["CRM_LOGIN_RATE_LIMIT"]


def _account_key():
    email = request.form.get("email", "")
    return "account:" + (login_email(email) or email.strip().lower()[:254])


def _start_session(user, next_url):
    """A fresh Flask session holding a new server-side session token."""
    session.clear()
    session[SESSION_TOKEN_KEY] = log_in(user, ip_address=client_address(), user_agent=user_agent())
    login_user(user)
    return redirect(after_login_url(next_url), code=303)


@bp.route("/login", methods=["GET", "POST"])
@throttles.login_per_account_and_address
@throttles.login_per_account
@throttles.login_per_address
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(after_login_url(request.args.get("next")))
    form = LoginForm(next=safe_next(request.args.get("next")) or "")
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    user = authenticate(form.email.data, form.password.data, ip_address=client_address())
    if user is None:
        throttles.secret_failed()
        form.password.errors = [GENERIC_LOGIN_ERROR]
        return render_template("auth/login.html", form=form)
    if user.has_two_factor:
        session.clear()
        session[throttles.PENDING_KEY] = {"user_id": user.id, "at": time.time(), "next": safe_next(form.next.data)}
        return redirect(url_for("auth.two_factor"), code=303)
    return _start_session(user, form.next.data)


def _pending_user():
    pending = session.get(throttles.PENDING_KEY) or {}
    if time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = staff_member(pending.get("user_id"))
    return user if user is not None and user.active and user.has_two_factor else None


@bp.route("/login/two-factor", methods=["GET", "POST"])
@throttles.second_step_per_user
@throttles.second_step_per_address
def two_factor():
    user = _pending_user()
    if user is None:
        session.pop(throttles.PENDING_KEY, None)
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"), code=303 if request.method == "POST" else 302)
    form = TwoFactorForm()
    if form.validate_on_submit():
        if verify_second_factor(user, form.code.data, ip_address=client_address()):
            return _start_session(user, session[throttles.PENDING_KEY].get("next"))
        throttles.secret_failed()
        form.code.errors = ["That code is not right."]
        return render_template("auth/two_factor.html", form=form)
    return render_template("auth/two_factor.html", form=form), 422 if form.is_submitted() else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        log_out(current_user, session.get(SESSION_TOKEN_KEY), ip_address=client_address())
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=client_address, methods=["POST"], scope="forgot-address")
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"], scope="forgot-account")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data, ip_address=client_address())
        # The same answer whether or not the email belongs to an account.
        flash("If that email belongs to a staff account, a link to choose a new password is on "
              "its way. It works once, within an hour.", "info")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot.html", form=form), 422 if form.is_submitted() else 200


def _invalid_link(purpose):
    throttles.secret_failed()
    return render_template("auth/link_invalid.html", purpose=purpose), 404


def _password_link_view(token, purpose, template):
    if user_for_link(token, purpose) is None:
        return _invalid_link(purpose)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password_from_link(token, purpose, form.password.data, ip_address=client_address())
        except AccountInvalid as invalid:
            form.password.errors = invalid.fields["password"]
        except TokenInvalid:
            return _invalid_link(purpose)
        else:
            logout_user()
            session.clear()
            flash("Your password is set. Please log in with it.", "info")
            return redirect(url_for("auth.login"), code=303)
    return render_template(template, form=form), 422 if form.is_submitted() else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@throttles.link_per_address
def reset_password(token):
    return _password_link_view(token, "password-reset", "auth/reset.html")


@bp.route("/password/set/<token>", methods=["GET", "POST"])
@throttles.link_per_address
def accept_invite(token):
    return _password_link_view(token, "invite", "auth/accept_invite.html")
