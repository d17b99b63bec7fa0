"""The board's pipeline report: by month of receipt and sector, numbers only (no personal data)."""

import csv
import io

from crm.dashboard.figures import QUALIFIED_STATUSES, received

COLUMNS = ("month", "sector", "received", "answered_on_time", "qualified", "landed", "lost",
           "planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def pipeline_rows(scope, start, end):
    """One row per (month, sector) with enquiries received in [start, end), spam left out:
    received, answered by the promised time, reached qualified or beyond, landed (won), lost,
    and the project facts' sums. Read from the month counter (crm/dashboard/counters.py)."""
    rows = {}
    for (month, sector, status), sums in received(scope, start, end, keep=("month", "sector", "status")).items():
        n, _answered, on_time, _late, _unanswered, *facts = sums
        row = rows.setdefault((month[:7], sector), [0] * 9)
        row[0] += n
        row[1] += on_time
        row[2] += n if status in QUALIFIED_STATUSES else 0
        row[3] += n if status == "won" else 0
        row[4] += n if status == "lost" else 0
        for i, value in enumerate(facts):  # planned jobs, planned capex, realised jobs, realised capex
            row[5 + i] += value
    return [(month, sector, *values) for (month, sector), values in sorted(rows.items())]


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
