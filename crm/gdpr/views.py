"""/admin/gdpr: the GDPR hub, subject search, erasure and exports (CONTRACT §6, admins only)."""

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.core.audit import record_audit
from crm.core.security import client_address
from crm.extensions import db
from crm.gdpr import log_redaction
from crm.gdpr.erasure import erase_subject
from crm.gdpr.forms import EraseForm
from crm.gdpr.queries import subject_summary
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


def _hub(erase_form=None, status=200):
    email = request.args.get("email", "").strip()
    summary = None
    if email:
        summary = subject_summary(email)
        record_audit("gdpr.subject_searched", actor=current_user, target_type="contact",
                     target_id=summary["contact"].id if summary["contact"] else None,
                     ip_address=client_address())
        db.session.commit()
    return render_template("admin/gdpr/hub.html", summary=summary,
                           erase_form=erase_form or EraseForm(email=email)), status


@bp.get("")
@admin_required
def index():
    return _hub()


@bp.post("/erase")
@admin_required
def erase():
    form = EraseForm()
    if not form.validate_on_submit():
        return _hub(form, 422)
    result = erase_subject(form.email.data, actor=current_user, ip_address=client_address())
    flash(f"Erased: {result.enquiries} enquiries anonymised, {result.emails} emails deleted. "
          f"Tombstone {result.tombstone_id} records the erasure." if result.found else
          f"No one with that email was held; tombstone {result.tombstone_id} records the request.",
          "success")
    return redirect(url_for(".index"), code=303)
