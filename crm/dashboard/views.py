"""GET /staff/dashboard, /staff/reports/pipeline and its CSV (CONTRACT §5).

The routes join the staff blueprint, so that the dashboard is `staff.dashboard`.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from crm.core.db import utcnow
from crm.dashboard import figures
from crm.dashboard.periods import Period, PeriodInvalid
from crm.dashboard.report import COLUMNS, as_csv, pipeline_rows
from crm.enquiries.options import SECTORS, as_options
from crm.staff.access import staff_required
from crm.staff.queries import staff_list
from crm.triage.views import bp


def _zone():
    return current_app.config.get("CRM_TIMEZONE", "Europe/Copenhagen")


def _local_today():
    zone = ZoneInfo(_zone())
    now = utcnow()
    today = now.astimezone(zone).date()
    today_end = datetime.combine(today + timedelta(days=1), time(), zone)
    return now, today, today_end


def _period(today):
    try:
        return Period.from_args(request.args, today)
    except PeriodInvalid as invalid:
        abort(400, f"The period value “{invalid}” is not one this page knows.")


def _selected_manager(managers):
    """Admins may pick one manager (`manager`: a manager's id); anyone else passing it gets 400."""
    value = request.args.get("manager") or None
    if value is None:
        return None
    chosen = next((m for m in managers if str(m.id) == value), None)
    if chosen is None or not current_user.is_admin:
        abort(400, "The manager filter has a value this page does not know.")
    return chosen


@bp.get("/dashboard")
@staff_required
def dashboard():
    now, today, today_end = _local_today()
    period = _period(today)
    start, end = period.utc_bounds(_zone())
    managers = [u for u in staff_list() if u.role == "manager"]
    chosen = _selected_manager(managers)
    # Managers: their own figures beside the team's totals; admins: the team's, or one manager's.
    person = current_user if not current_user.is_admin else chosen
    scopes = {"team": figures.TEAM}
    if person is not None:
        scopes["mine"] = figures.assigned_to(person.id)
    figures_by_scope = {name: figures.dashboard(scope, start, end, now, today_end) for name, scope in scopes.items()}
    workload = figures.workload(figures.visible_to(current_user), today, now)
    return render_template(
        "staff/dashboard.html", period=period, figures=figures_by_scope, person=person,
        managers=managers, chosen=chosen, workload=workload, away=figures.staff_away(today),
        sectors=dict((o["code"], o["label"]) for o in as_options(SECTORS)),
        target_hours=current_app.config.get("CRM_RESPONSE_TARGET_HOURS", 48))


def _report_rows():
    now, today, _ = _local_today()
    period = _period(today)
    start, end = period.utc_bounds(_zone())
    return period, pipeline_rows(figures.visible_to(current_user), start, end)


@bp.get("/reports/pipeline")
@staff_required
def pipeline_report():
    period, rows = _report_rows()
    return render_template("staff/pipeline_report.html", period=period, rows=rows, columns=COLUMNS)


@bp.get("/reports/pipeline.csv")
@staff_required
def pipeline_report_csv():
    period, rows = _report_rows()
    name = f"pipeline-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(as_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# Chart rows for templates/staff/_charts.html: a label, a value and the inbox link that lists
# what the bar counts (`link` is the dashboard template's macro adding the person's filter).
FUNNEL = {"received": ("Received", {}), "answered": ("Answered", {}),
          "qualified": ("Qualified or beyond", {"status": "qualified"}), "won": ("Landed (won)", {"status": "won"})}


@bp.app_template_filter("pipeline_row")
def pipeline_row(item, scope, link, kind):
    key, value = item
    if kind == "status":
        return {"label": key.capitalize(), "value": value, "href": link(scope, {"status": key})}
    if kind == "funnel":
        label, args = FUNNEL[key]
        return {"label": label, "value": value, "href": link(scope, args)}
    return {"label": key.capitalize(), "value": value, "href": link(scope, {})}


@bp.app_template_filter("month_share")
def month_share(month, scope, link):
    return {"label": month["month"], "value": month["share"], "href": link(scope, {"sort": "response_due"})}


@bp.app_template_filter("quarter_row")
def quarter_row(quarter, scope, link, status):
    name, won, lost, _ = quarter
    return {"label": name, "value": won if status == "won" else lost, "href": link(scope, {"status": status})}


@bp.app_template_filter("sector_capex")
def sector_capex(row, scope, link, labels):
    return {"label": labels[row["sector"]], "value": round(row["landed"][4] / 1_000_000, 1),
            "href": link(scope, {"sector": row["sector"], "status": "won"})}
