"""/admin/audit: who did what to which record, when, from where (admins only)."""

from flask import Blueprint, abort, render_template, request

from crm.gdpr.audit_log import (
    AuditFilters,
    AuditFiltersInvalid,
    audit_actors,
    audit_log_csv,
    audit_page,
)
from crm.gdpr.web import audit_use, csv_download
from crm.staff.access import admin_required

bp = Blueprint("audit_admin", __name__, url_prefix="/admin")


def _filters():
    try:
        return AuditFilters.from_args(request.args)
    except AuditFiltersInvalid as invalid:
        abort(400, f"The filter “{invalid}” has a value this page does not know.")


@bp.get("/audit")
@admin_required
def index():
    filters = _filters()
    rows, next_before = audit_page(filters)
    audit_use("audit.viewed")
    return render_template("admin/audit.html", rows=rows, next_before=next_before,
                           filters=filters, actors=audit_actors())


@bp.get("/audit.csv")
@admin_required
def audit_csv():
    filters = _filters()
    audit_use("audit.exported")
    return csv_download(audit_log_csv(filters), "audit.csv")
