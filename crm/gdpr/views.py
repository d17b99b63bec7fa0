"""/admin/gdpr: the GDPR hub, subject search, requests, erasure and exports (CONTRACT §6).

Admins only; every use is written to the audit log.
"""

import json
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from crm.core.db import utcnow
from crm.core.security import client_address
from crm.gdpr import log_redaction
from crm.gdpr.erasure import erase_subject
from crm.gdpr.exports import consent_csv
from crm.gdpr.forms import ConfirmForm, EraseForm, ProcessingForm, RequestForm
from crm.gdpr.processing import processing_record, update_processing_section
from crm.gdpr.queries import consent_summary, last_purge_runs, subject_summary
from crm.gdpr.requests import (
    RequestInvalid,
    log_request,
    mark_request_handled,
    open_and_recent_requests,
    requests_for,
)
from crm.gdpr.retention import retention_csv as retention_schedule_csv
from crm.gdpr.services import export_subject
from crm.gdpr.web import audit_use, csv_download
from crm.staff.access import admin_required

bp = Blueprint("gdpr_admin", __name__, url_prefix="/admin/gdpr")
bp.record_once(lambda state: log_redaction.install())


@bp.app_template_filter("gdpr_when")
def gdpr_when(value, fmt="%Y-%m-%d %H:%M"):
    """A stored UTC time as the agency's local time (CRM_TIMEZONE)."""
    if value is None:
        return "–"
    zone = ZoneInfo(current_app.config.get("CRM_TIMEZONE", "Europe/Copenhagen"))
    return value.astimezone(zone).strftime(fmt)


def _hub(erase_form=None, request_form=None, status=200):
    email = request.args.get("email", "").strip()
    summary = subject_summary(email) if email else None
    if summary:
        summary["requests"] = requests_for(email)
    waiting, done = open_and_recent_requests()
    audit_use("gdpr.subject_searched" if summary else "gdpr.hub_viewed", "contact",
           summary["contact"].id if summary and summary["contact"] else None)
    return render_template(
        "admin/gdpr/hub.html", summary=summary, consents=consent_summary(), waiting=waiting,
        done=done, today=utcnow().date(), purge_runs=last_purge_runs(), confirm=ConfirmForm(),
        erase_form=erase_form or EraseForm(email=email),
        request_form=request_form or RequestForm(email=email, received_on=utcnow().date()),
    ), status


@bp.get("")
@admin_required
def index():
    return _hub()


@bp.post("/erase")
@admin_required
def erase():
    form = EraseForm()
    if not form.validate_on_submit():
        return _hub(erase_form=form, status=422)
    result = erase_subject(form.email.data, actor=current_user, ip_address=client_address())
    flash(f"Erased: {result.enquiries} enquiries anonymised, {result.emails} emails deleted. "
          f"Tombstone {result.tombstone_id} records the erasure." if result.found else
          f"No one with that email was held; tombstone {result.tombstone_id} records the request.",
          "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/requests")
@admin_required
def new_request():
    form = RequestForm()
    if not form.validate_on_submit():
        return _hub(request_form=form, status=422)
    try:
        logged = log_request(form.email.data, form.kind.data, form.received_on.data,
                             actor=current_user, ip_address=client_address())
    except RequestInvalid:
        form.received_on.errors = ["The date received cannot be in the future."]
        return _hub(request_form=form, status=422)
    flash(f"Request {logged.id} logged; answer it by {logged.due_on.isoformat()}.", "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/requests/<int:request_id>/handled")
@admin_required
def request_handled(request_id):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        mark_request_handled(request_id, actor=current_user, ip_address=client_address())
    except LookupError:
        abort(404)
    flash(f"Request {request_id} marked as answered.", "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/consents.csv")
@admin_required
def consents_csv():
    audit_use("gdpr.consents_exported")
    return csv_download(consent_csv(), "consents.csv")


@bp.get("/retention.csv")
@admin_required
def retention_csv():
    audit_use("gdpr.retention_exported")
    return csv_download(retention_schedule_csv(), "retention.csv")


@bp.get("/subject.json")
@admin_required
def subject_json():
    email = request.args.get("email", "").strip()
    if not email:
        abort(400, "Give the person's email: subject.json?email=…")
    data = export_subject(email, actor=current_user, ip_address=client_address())
    return Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="subject.json"'})


@bp.get("/processing")
@admin_required
def processing():
    audit_use("gdpr.processing_record_viewed")
    return render_template("admin/gdpr/processing.html", sections=processing_record(),
                           form=ProcessingForm())


@bp.post("/processing/<int:section_id>")
@admin_required
def edit_processing(section_id):
    form = ProcessingForm()
    if not form.validate_on_submit():
        return render_template("admin/gdpr/processing.html", sections=processing_record(),
                               form=form, invalid_id=section_id), 422
    try:
        update_processing_section(section_id, form.heading.data, form.body.data,
                                  actor=current_user, ip_address=client_address())
    except LookupError:
        abort(404)
    flash("Record of processing updated.", "success")
    return redirect(url_for(".processing", _anchor=f"section-{section_id}"), code=303)
