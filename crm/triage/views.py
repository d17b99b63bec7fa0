"""The staff inbox and the enquiry page (CONTRACT §5)."""

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from crm.core.db import utcnow
from crm.core.security import client_address
from crm.enquiries.models import PRIORITIES, STATUSES
from crm.enquiries.options import SECTORS, TOPICS, as_options
from crm.staff.access import refuse, staff_required
from crm.staff.queries import assignable_staff, staff_list
from crm.triage import filters as template_filters
from crm.triage.calendar import agency_zone, local_today
from crm.triage.detail import age, follow_up_state, related_enquiries, response_state, row_flags, timeline
from crm.triage.export import EXPORT_COLUMNS, csv_lines
from crm.triage.forms import ActionForms
from crm.triage.labels import STATUS_LABELS
from crm.triage.queries import FiltersInvalid, InboxFilters, enquiry_for, export_rows, inbox_page
from crm.triage.services import record_access

bp = Blueprint("staff", __name__, url_prefix="/staff")
template_filters.register(bp)


def _filters():
    try:
        return InboxFilters.from_args(request.args)
    except FiltersInvalid as invalid:
        abort(400, f"The filter “{invalid}” has a value this page does not know.")


@bp.get("/enquiries")
@staff_required
def inbox():
    filters = _filters()
    page = inbox_page(current_user, filters)
    record_access("enquiries.listed", current_user, client_address())
    options = {"status": [("open", "Open (not won, lost or spam)"), ("all", "Any status")]
               + [(s, STATUS_LABELS[s]) for s in STATUSES],
               "sector": [(o["code"], o["label"]) for o in as_options(SECTORS)],
               "topic": [(o["code"], o["label"]) for o in as_options(TOPICS)],
               "priority": [(p, p) for p in PRIORITIES]}
    # Only admins get the per-person assignee choices.
    staff = assignable_staff() if current_user.is_admin else []
    now, today, zone = utcnow(), local_today(), agency_zone()
    rows = [(e, row_flags(e, now, today, zone), age(e.created_at, now)) for e in page.enquiries]
    return render_template("staff/inbox.html", page=page, rows=rows, options=options, staff=staff)


@bp.get("/enquiries.csv")
@staff_required
def inbox_csv():
    filters = _filters()
    record_access("enquiries.exported", current_user, client_address())
    stamp = local_today().isoformat()
    return Response(stream_with_context(csv_lines(export_rows(current_user, filters, EXPORT_COLUMNS))),
                    mimetype="text/csv", headers={
                        "Content-Disposition": f'attachment; filename="enquiries-{stamp}.csv"'})


def visible_enquiry(reference):
    enquiry = enquiry_for(current_user, reference)
    if enquiry is None:
        refuse(404)  # audited: someone asked for an enquiry they may not see (or none exists)
    return enquiry


def render_detail(enquiry, status=200, failed=None):
    """The enquiry page; `failed` is the action form whose errors are shown (422)."""
    names = {user.id: user.name for user in staff_list()}
    today = local_today()
    return render_template(
        "staff/enquiry.html", enquiry=enquiry, staff_names=names,
        forms=ActionForms(enquiry, failed), related=related_enquiries(current_user, enquiry),
        timeline=timeline(enquiry, names), follow_up_state=follow_up_state(enquiry, today),
        response_state=response_state(enquiry, utcnow(), today, agency_zone()),
    ), status


@bp.get("/enquiries/<reference>")
@staff_required
def enquiry(reference):
    enquiry = visible_enquiry(reference)
    record_access("enquiry.viewed", current_user, client_address(), enquiry=enquiry)
    return render_detail(enquiry)
