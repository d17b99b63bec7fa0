"""The board's pipeline report: by month of receipt and sector, numbers only (no personal data)."""

import csv
import io

import sqlalchemy as sa

from crm.dashboard.figures import QUALIFIED_STATUSES, month_of, received
from crm.enquiries.models import Enquiry
from crm.extensions import db

COLUMNS = ("month", "sector", "received", "answered_on_time", "qualified", "landed", "lost",
           "planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def pipeline_rows(scope, start, end):
    """One row per (month, sector) with enquiries received in [start, end), spam left out:
    received, answered by the promised time, reached qualified or beyond, landed (won), lost,
    and the project facts' sums. One indexed GROUP BY over the period."""
    month = month_of(Enquiry.created_at)

    def count_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (sa.select(
        month, Enquiry.sector, sa.func.count(),
        count_if(sa.and_(Enquiry.first_response_at.is_not(None),
                         Enquiry.first_response_at <= Enquiry.response_due_at)),
        count_if(Enquiry.status.in_(QUALIFIED_STATUSES)), count_if(Enquiry.status == "won"),
        count_if(Enquiry.status == "lost"),
        sa.func.sum(Enquiry.planned_jobs), sa.func.sum(Enquiry.planned_capex_eur),
        sa.func.sum(Enquiry.realised_jobs), sa.func.sum(Enquiry.realised_capex_eur))
        .where(scope, received(start, end)).group_by(month, Enquiry.sector).order_by(month, Enquiry.sector))
    return [(str(m), sector, *(int(v or 0) for v in values))
            for m, sector, *values in db.session.execute(query)]


def formula_safe(value):
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_csv(rows):
    """The CSV text, one chunk per row (the report is a few hundred rows at most)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([formula_safe(v) for v in row])
    return buffer.getvalue()
