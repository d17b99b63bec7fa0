"""Assigning by hand, the rules pages, away-until and moving a leaving manager's enquiries."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.assignment.engine import describe_reason
from crm.assignment.forms import (
    AssignForm,
    AwayForm,
    PreviewForm,
    ReassignForm,
    RuleForm,
)
from crm.assignment.queries import assign_choices, rule_by_id, rules_in_order
from crm.assignment.rules import (
    MAX_PRIORITY,
    RuleInvalid,
    move_rule,
    preview_assignment,
    save_rule,
    set_rule_enabled,
    split_codes,
)
from crm.assignment.services import (
    AssigneeInvalid,
    NeedsConfirmation,
    NotYours,
    assign_enquiry,
    open_enquiry_count,
    reassign_open_enquiries,
    set_away,
)
from crm.core.params import parse_int
from crm.core.security import client_address
from crm.staff.access import admin_required, refuse, staff_required
from crm.staff.forms import ConfirmForm
from crm.staff.queries import assignable_staff, staff_member
from crm.triage.queries import enquiry_for

bp = Blueprint("assignment", __name__)


@bp.app_template_filter("assignment_reason")
def assignment_reason(details):
    return describe_reason(details)


# The include templates (the enquiry page's assign control, a user's open enquiries) ask for
# their own data, so that the pages that include them need not know about assignment.
bp.add_app_template_global(assign_choices, "assign_choices")
bp.add_app_template_global(open_enquiry_count, "open_enquiry_count")
bp.add_app_template_global(assignable_staff, "assignable_staff")


@bp.post("/staff/enquiries/<reference>/assign")
@staff_required
def assign(reference):
    enquiry = enquiry_for(current_user, reference) or refuse(404)
    form = AssignForm()
    if not form.validate_on_submit():
        return _assign_page(enquiry, form, errors=["The form expired: send it again."])
    try:
        changed = assign_enquiry(enquiry, staff_member(parse_int(form.assignee_id.data)), current_user,
                                 confirm=form.confirm.data == "1", ip_address=client_address())
    except AssigneeInvalid:
        return _assign_page(enquiry, form, errors=["Choose an active staff member."])
    except NotYours:
        refuse(404)
    except NeedsConfirmation as unusual:
        return _assign_page(enquiry, form, warnings=unusual.warnings)
    flash("Assigned." if changed else "Already assigned to them.", "info")
    return redirect(url_for("staff.enquiry", reference=enquiry.reference), code=303)


def _assign_page(enquiry, form, errors=(), warnings=()):
    return render_template("staff/assign_confirm.html", enquiry=enquiry, form=form, errors=errors,
                           warnings=warnings, assignee=staff_member(parse_int(form.assignee_id.data))), 422


@bp.route("/account/away", methods=["GET", "POST"])
@staff_required
def away():
    form = AwayForm(away_until=current_user.away_until)
    if form.validate_on_submit():
        set_away(current_user, form.away_until.data, actor=current_user, ip_address=client_address())
        flash("Saved: no new enquiries reach you while you are away." if form.away_until.data
              else "Saved: you are present.", "info")
        return redirect(url_for("assignment.away"), code=303)
    return render_template("account/away.html", form=form), 422 if form.errors else 200


@bp.get("/admin/rules")
@admin_required
def rules():
    return _rules_page()


def _rules_page(preview=None, choice=None, status=200):
    return render_template("admin/rules.html", rules=rules_in_order(), choice=choice,
                           preview=preview or PreviewForm(formdata=None), confirm=ConfirmForm()), status


@bp.get("/admin/rules/preview")
@admin_required
def preview():
    form = PreviewForm(request.args)
    choice, status = None, 200
    try:
        choice = preview_assignment(**{name: form[name].data for name in
                                       ("sector", "topic", "country", "language", "email")})
    except RuleInvalid as invalid:
        _apply_errors(form, invalid)
        status = 422
    return _rules_page(form, choice, status)


@bp.route("/admin/rules/new", methods=["GET", "POST"])
@bp.route("/admin/rules/<int:rule_id>", methods=["GET", "POST"])
@admin_required
def edit_rule(rule_id=None):
    rule = None if rule_id is None else (rule_by_id(rule_id) or abort(404))
    form = RuleForm(assignable_staff())
    if rule is not None and request.method == "GET":
        form.user_id.data, form.priority.data = str(rule.user_id or ""), str(rule.priority)
        form.sectors.data, form.topics.data = rule.sectors, rule.topics
        form.countries.data, form.description.data = ", ".join(rule.countries), rule.description
        form.enabled.data = rule.active
    if form.validate_on_submit():
        try:
            rule = save_rule(rule, user_id=parse_int(form.user_id.data), sectors=form.sectors.data,
                             topics=form.topics.data, countries=split_codes(form.countries.data),
                             priority=parse_int(form.priority.data, minimum=0, maximum=MAX_PRIORITY),
                             description=form.description.data,
                             enabled=form.enabled.data, actor=current_user, ip_address=client_address())
        except RuleInvalid as invalid:
            _apply_errors(form, invalid)
        else:
            flash(f"Rule #{rule.id} saved.", "info")
            return redirect(url_for("assignment.rules"), code=303)
    return render_template("admin/rule_edit.html", form=form, rule=rule), 422 if form.errors else 200


@bp.post("/admin/rules/<int:rule_id>/<any(enable, disable):action>")
@admin_required
def toggle_rule(rule_id, action):
    rule = rule_by_id(rule_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            set_rule_enabled(rule, action == "enable", actor=current_user, ip_address=client_address())
        except RuleInvalid as invalid:
            flash(" ".join(invalid.fields["enabled"]), "error")
            return _rules_page(status=422)
    return redirect(url_for("assignment.rules"), code=303)


@bp.post("/admin/rules/<int:rule_id>/move")
@admin_required
def move(rule_id):
    rule = rule_by_id(rule_id) or abort(404)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(422)
    if ConfirmForm().validate_on_submit():
        move_rule(rule, direction, actor=current_user, ip_address=client_address())
    return redirect(url_for("assignment.rules"), code=303)


@bp.post("/admin/users/<int:user_id>/reassign")
@admin_required
def reassign(user_id):
    leaving = staff_member(user_id) or abort(404)
    form = ReassignForm()
    if form.validate_on_submit():
        to_id = parse_int(form.to_id.data)
        target = staff_member(to_id) if to_id is not None else None
        if (form.to_id.data or "").strip() and target is None:
            return _reassign_error(leaving, "Choose an active staff member, or the engine.")
        try:
            moved = reassign_open_enquiries(leaving, target, actor=current_user, ip_address=client_address())
        except AssigneeInvalid:
            return _reassign_error(leaving, "Choose an active staff member other than them, or the engine.")
        flash(f"Moved {sum(moved.values())} open enquiries"
              + (f"; {moved[None]} wait unassigned (nobody could take them)." if moved[None] else "."), "info")
    return redirect(url_for("admin_users.edit", user_id=leaving.id), code=303)


def _reassign_error(leaving, message):
    flash(message, "error")
    return render_template("admin/reassign_error.html", user=leaving, message=message,
                           open_count=open_enquiry_count(leaving)), 422


def _apply_errors(form, invalid):
    for field, messages in invalid.fields.items():
        target = form[field] if field in form else form[next(iter(form._fields))]
        target.errors = list(target.errors or []) + list(messages)
