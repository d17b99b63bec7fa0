"""The staff inbox and the enquiry page (CONTRACT §5)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.assignment.services import AssigneeInvalid, assign_enquiry
from crm.core.security import client_address
from crm.enquiries.models import STATUSES
from crm.enquiries.options import SECTORS, TOPICS, as_options
from crm.staff.access import admin_required, refuse, staff_required
from crm.staff.queries import assignable_staff, staff_list, staff_member
from crm.triage.forms import AssignForm
from crm.triage.queries import FiltersInvalid, InboxFilters, enquiry_for, inbox_page
from crm.triage.services import record_access

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/enquiries")
@staff_required
def inbox():
    try:
        filters = InboxFilters.from_args(request.args)
    except FiltersInvalid as invalid:
        abort(400, f"The filter “{invalid}” has a value this page does not know.")
    page = inbox_page(current_user, filters)
    record_access("enquiries.listed", current_user, client_address())
    options = {"status": [(s, s.capitalize()) for s in STATUSES],
               "sector": [(o["code"], o["label"]) for o in as_options(SECTORS)],
               "topic": [(o["code"], o["label"]) for o in as_options(TOPICS)]}
    # Only admins get the per-person assignee choices.
    staff = assignable_staff() if current_user.is_admin else []
    return render_template("staff/inbox.html", page=page, options=options, staff=staff)


def _visible_enquiry(reference):
    enquiry = enquiry_for(current_user, reference)
    if enquiry is None:
        refuse(404)  # audited: someone asked for an enquiry they may not see (or none exists)
    return enquiry


def _render_detail(enquiry, assign_form=None, status=200):
    if current_user.is_admin and assign_form is None:
        assign_form = AssignForm(assignable_staff(), assignee_id=enquiry.assignee_id)
    names = {user.id: user.name for user in staff_list()}
    return render_template("staff/enquiry.html", enquiry=enquiry, assign_form=assign_form,
                           staff_names=names), status


@bp.get("/enquiries/<reference>")
@staff_required
def enquiry(reference):
    enquiry = _visible_enquiry(reference)
    record_access("enquiry.viewed", current_user, client_address(), enquiry=enquiry)
    return _render_detail(enquiry)


@bp.post("/enquiries/<reference>/assign")
@admin_required
def assign(reference):
    enquiry = _visible_enquiry(reference)
    form = AssignForm(assignable_staff())
    if form.validate_on_submit():
        try:
            changed = assign_enquiry(enquiry, staff_member(form.assignee_id.data),
                                     current_user, ip_address=client_address())
        except AssigneeInvalid:
            form.assignee_id.errors = ["Choose an active staff member."]
        else:
            flash("Assigned." if changed else "Already assigned to them.", "info")
            return redirect(url_for("staff.enquiry", reference=enquiry.reference), code=303)
    return _render_detail(enquiry, form, 422)
