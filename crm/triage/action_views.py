"""The actions of the enquiry page (CONTRACT §5): one small form each, one service each.

Success → 303 back to the page; invalid → 422 with the page and the form's error, nothing
changed; an enquiry the viewer may not see → 404 (through the same `enquiry_for` as the page).
"""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from crm.core.security import client_address
from crm.enquiries.validation import EnquiryInvalid
from crm.staff.access import staff_required
from crm.staff.queries import assignable_staff
from crm.triage import actions
from crm.triage.forms import FollowUpForm, ManualEnquiryForm, NoteForm, PriorityForm, ProjectForm, ReplyForm, StatusForm
from crm.triage.manual import LAWFUL_BASES, record_enquiry
from crm.triage.views import bp, render_detail, visible_enquiry


def _act(reference, form_class, perform, done_message):
    """Load and check the enquiry, validate the form, call the service, answer."""
    enquiry = visible_enquiry(reference)
    form = form_class()
    if form.validate_on_submit():
        try:
            changed = perform(enquiry, form)
        except actions.ActionInvalid as invalid:
            getattr(form, invalid.field).errors = [invalid.message]
        else:
            flash(done_message if changed else "Nothing changed.", "info")
            return redirect(url_for("staff.enquiry", reference=enquiry.reference), code=303)
    return render_detail(enquiry, failed=form, status=422)


@bp.post("/enquiries/<reference>/status")
@staff_required
def change_status(reference):
    return _act(reference, StatusForm, lambda e, f: actions.change_status(
        e, f.status.data, f.reason.data, current_user, client_address()), "Status changed.")


@bp.post("/enquiries/<reference>/notes")
@staff_required
def add_note(reference):
    return _act(reference, NoteForm, lambda e, f: actions.add_note(
        e, f.body.data, current_user, client_address()), "Note added.")


@bp.post("/enquiries/<reference>/follow-up")
@staff_required
def set_follow_up(reference):
    def perform(enquiry, form):
        if form.done.data:
            return actions.complete_follow_up(enquiry, current_user, client_address())
        return actions.set_follow_up(enquiry, form.due.parsed, current_user, client_address())

    return _act(reference, FollowUpForm, perform, "Follow-up saved.")


@bp.post("/enquiries/<reference>/priority")
@staff_required
def set_priority(reference):
    return _act(reference, PriorityForm, lambda e, f: actions.set_priority(
        e, f.priority.data, current_user, client_address()), "Priority changed.")


@bp.post("/enquiries/<reference>/project")
@staff_required
def update_project(reference):
    return _act(reference, ProjectForm, lambda e, f: actions.update_project(
        e, f.facts, current_user, client_address()), "Project facts saved.")


@bp.post("/enquiries/<reference>/reply")
@staff_required
def reply(reference):
    return _act(reference, ReplyForm, lambda e, f: actions.send_reply(
        e, f.subject.data, f.body.data, current_user, client_address()),
        "Reply queued: it leaves within a minute.")


@bp.route("/enquiries/new", methods=["GET", "POST"])
@staff_required
def new_enquiry():
    """Record a phone call or a meeting at a fair; assigned to its author unless they choose."""
    form = ManualEnquiryForm(assignable_staff(), LAWFUL_BASES)
    if not form.is_submitted():
        form.assignee_id.data = str(current_user.id)
    elif form.validate_on_submit():
        try:
            submission = record_enquiry(
                form.as_submission(), lawful_basis=form.lawful_basis.data, evidence=form.evidence.data,
                assignee_id=form.chosen_assignee(), acknowledge=form.acknowledge.data,
                actor=current_user, ip_address=client_address())
        except (EnquiryInvalid, ValueError) as invalid:
            fields = invalid.fields if isinstance(invalid, EnquiryInvalid) else {
                "assignee_id": ["Choose an active staff member, or leave it unassigned."]}
            for name, messages in fields.items():
                if name in form:
                    form[name].errors = list(messages)
        else:
            flash(f"Enquiry {submission.reference} recorded.", "info")
            return redirect(url_for("staff.enquiry", reference=submission.reference), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("staff/new_enquiry.html", form=form), status
