"""A staff member's own account: password change and two-factor enrolment."""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user

from crm.core.security import client_address, user_agent
from crm.staff import throttles
from crm.staff import two_factor as totp
from crm.staff.access import staff_required
from crm.staff.auth import SESSION_TOKEN_KEY
from crm.staff.forms import ChangePasswordForm, DisableTwoFactorForm, EnrolTwoFactorForm
from crm.staff.services import (
    AccountInvalid,
    change_password,
    disable_two_factor,
    enable_two_factor,
    remaining_recovery_codes,
)

bp = Blueprint("account", __name__, url_prefix="/account")

ENROL_KEY = "totp_enrolment_secret"


@bp.route("/password", methods=["GET", "POST"])
@staff_required
@throttles.account_secret
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            token = change_password(current_user, current_password=form.current_password.data,
                                    new_password=form.password.data, ip_address=client_address(),
                                    user_agent=user_agent())
        except AccountInvalid as invalid:
            if "current_password" in invalid.fields:
                throttles.secret_failed()
            for field, messages in invalid.fields.items():
                form[field].errors = list(messages)
        else:
            session[SESSION_TOKEN_KEY] = token  # every other session has ended
            flash("Your password is changed. Other devices are logged out.", "info")
            return redirect(url_for("account.password"), code=303)
    return render_template("account/password.html", form=form), 422 if form.errors else 200


def _two_factor_required():
    return current_user.is_admin and current_app.config["CRM_REQUIRE_ADMIN_2FA"]


@bp.route("/two-factor", methods=["GET", "POST"])
@staff_required
@throttles.account_secret
def two_factor():
    if current_user.has_two_factor:
        return render_template("account/two_factor_on.html", form=DisableTwoFactorForm(),
                               remaining=remaining_recovery_codes(current_user),
                               required=_two_factor_required())
    secret = session.setdefault(ENROL_KEY, totp.new_secret())
    form = EnrolTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = enable_two_factor(current_user, secret=secret, code=form.code.data,
                                      ip_address=client_address())
        except AccountInvalid as invalid:
            throttles.secret_failed()
            form.code.errors = invalid.fields["code"]
        else:
            session.pop(ENROL_KEY, None)
            return render_template("account/recovery_codes.html", codes=codes)
    uri = totp.provisioning_uri(secret, current_user.email)
    return render_template("account/two_factor_enrol.html", form=form, secret=secret,
                           qr_svg=totp.qr_svg(uri)), 422 if form.errors else 200


@bp.post("/two-factor/disable")
@staff_required
@throttles.account_secret
def disable():
    form = DisableTwoFactorForm()
    if _two_factor_required():
        flash("Admins must keep two-factor sign-in on.", "error")
        return redirect(url_for("account.two_factor"), code=303)
    if form.validate_on_submit():
        try:
            disable_two_factor(current_user, password=form.password.data, ip_address=client_address())
        except AccountInvalid as invalid:
            throttles.secret_failed()
            form.password.errors = invalid.fields["password"]
        else:
            flash("Two-factor sign-in is off.", "info")
            return redirect(url_for("account.two_factor"), code=303)
    return render_template("account/two_factor_on.html", form=form, required=False,
                           remaining=remaining_recovery_codes(current_user)), 422
