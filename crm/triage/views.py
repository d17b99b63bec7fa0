"""The staff inbox and the enquiry page (CONTRACT §5)."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from crm.core.security import client_address
from crm.enquiries.models import STATUSES
from crm.enquiries.options import SECTORS, TOPICS, as_options
from crm.staff.access import refuse, staff_required
from crm.staff.queries import assignable_staff, staff_list
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


def _render_detail(enquiry, status=200):
    names = {user.id: user.name for user in staff_list()}
    return render_template("staff/enquiry.html", enquiry=enquiry, staff_names=names), status


@bp.get("/enquiries/<reference>")
@staff_required
def enquiry(reference):
    enquiry = _visible_enquiry(reference)
    record_access("enquiry.viewed", current_user, client_address(), enquiry=enquiry)
    return _render_detail(enquiry)

