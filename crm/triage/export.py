"""The inbox as CSV (CONTRACT §5): streamed row by row, cells safe to open in a spreadsheet."""

import csv
import io

from crm.triage.labels import status_label

COLUMNS = ("reference", "received_at", "status", "status_words", "priority", "assignee", "name", "email",
           "company", "phone", "country", "sector", "topic", "language", "source", "response_due_at",
           "first_response_at", "next_follow_up_on", "project_type", "planned_jobs", "planned_capex_eur",
           "realised_jobs", "realised_capex_eur", "closed_at")
# A cell starting with one of these is a formula to Excel or LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The cell as text; a leading apostrophe makes a would-be formula plain text."""
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return str(value)  # our own numbers: never negative, never a formula
    text = value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(e):
    c = e.contact
    return (e.reference, e.created_at, e.status, status_label(e.status), e.priority,
            e.assignee.name if e.assignee else "", c.name, c.email, c.company, c.phone, c.country, e.sector,
            e.topic, e.language, e.source, e.response_due_at, e.first_response_at, e.next_follow_up_on,
            e.project_type, e.planned_jobs, e.planned_capex_eur, e.realised_jobs, e.realised_capex_eur,
            e.closed_at)


def csv_lines(enquiries):
    """Yield the CSV text: the header, then one line per enquiry (nothing held in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for count, enquiry in enumerate(enquiries, 1):
        writer.writerow([neutralise(v) for v in _row(enquiry)])
        if count % 200 == 0:
            yield flush()
    yield flush()
