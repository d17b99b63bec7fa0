"""Admin pages for staff accounts: list, invite, edit, deactivate (CONTRACT §5, admin only)."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from crm.core.security import client_address
from crm.staff.access import admin_required
from crm.staff.forms import ConfirmForm, InviteForm, UserForm
from crm.staff.queries import staff_list, staff_member
from crm.staff.services import (
    AccountInvalid,
    LastAdmin,
    deactivate_user,
    invite_user,
    reactivate_user,
    update_user,
)

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

LAST_ADMIN = "This is the last active admin: make another admin first."


def _user_or_404(user_id):
    return staff_member(user_id) or abort(404)


def _apply_errors(form, invalid):
    for field, messages in invalid.fields.items():
        if field in form:
            form[field].errors = list(messages)
        else:
            abort(422)


@bp.get("")
@admin_required
def index():
    return render_template("admin/users.html", users=staff_list(), confirm=ConfirmForm())


@bp.route("/invite", methods=["GET", "POST"])
@admin_required
def invite():
    form = InviteForm(role="manager")
    if form.validate_on_submit():
        try:
            user = invite_user(email=form.email.data, name=form.name.data, role=form.role.data,
                               title=form.title.data, sectors=form.sectors.data,
                               topics=form.topics.data, languages=form.languages.data,
                               actor=current_user, ip_address=client_address())
        except AccountInvalid as invalid:
            _apply_errors(form, invalid)
        else:
            flash(f"Invitation sent to {user.email}.", "info")
            return redirect(url_for("admin_users.index"), code=303)
    return render_template("admin/user_invite.html", form=form), 422 if form.errors else 200


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit(user_id):
    user = _user_or_404(user_id)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        try:
            update_user(user, role=form.role.data, title=form.title.data, sectors=form.sectors.data,
                        topics=form.topics.data, languages=form.languages.data,
                        away_until=form.away_until.data, actor=current_user,
                        ip_address=client_address())
        except AccountInvalid as invalid:
            _apply_errors(form, invalid)
        except LastAdmin:
            form.role.errors = [LAST_ADMIN]
        else:
            flash("Saved.", "info")
            return redirect(url_for("admin_users.index"), code=303)
    return render_template("admin/user_edit.html", form=form, user=user,
                           confirm=ConfirmForm()), 422 if form.errors else 200


@bp.post("/<int:user_id>/deactivate")
@admin_required
def deactivate(user_id):
    user = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            deactivate_user(user, actor=current_user, ip_address=client_address())
        except LastAdmin:
            flash(LAST_ADMIN, "error")
            return redirect(url_for("admin_users.edit", user_id=user.id), code=303)
        flash("Deactivated; their sessions have ended.", "info")
    return redirect(url_for("admin_users.index"), code=303)


@bp.post("/<int:user_id>/reactivate")
@admin_required
def reactivate(user_id):
    user = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        reactivate_user(user, actor=current_user, ip_address=client_address())
        flash("Reactivated.", "info")
    return redirect(url_for("admin_users.index"), code=303)
