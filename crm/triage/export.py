"""The inbox as CSV (CONTRACT §5): streamed row by row, cells safe to open in a spreadsheet."""

import csv
import io

from crm.enquiries.models import Contact, Enquiry
from crm.staff.models import User
from crm.triage.labels import status_label

# (header, column) in file order; `status_words` is added after `status`.
COLUMNS = (
    ("reference", Enquiry.reference), ("received_at", Enquiry.created_at), ("status", Enquiry.status),
    ("priority", Enquiry.priority), ("assignee", User.name), ("name", Contact.name), ("email", Contact.email),
    ("company", Contact.company), ("phone", Contact.phone), ("country", Contact.country),
    ("sector", Enquiry.sector), ("topic", Enquiry.topic), ("language", Enquiry.language),
    ("source", Enquiry.source), ("response_due_at", Enquiry.response_due_at),
    ("first_response_at", Enquiry.first_response_at), ("next_follow_up_on", Enquiry.next_follow_up_on),
    ("project_type", Enquiry.project_type), ("planned_jobs", Enquiry.planned_jobs),
    ("planned_capex_eur", Enquiry.planned_capex_eur), ("realised_jobs", Enquiry.realised_jobs),
    ("realised_capex_eur", Enquiry.realised_capex_eur), ("closed_at", Enquiry.closed_at),
)
EXPORT_COLUMNS = [column for _, column in COLUMNS]
HEADER = ["reference", "received_at", "status", "status_words"] + [name for name, _ in COLUMNS[3:]]
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


def _cells(row):
    row = list(row)
    row.insert(3, status_label(row[2]))
    return [neutralise(value) for value in row]


def csv_lines(rows):
    """Yield the CSV text: the header, then one line per row of EXPORT_COLUMNS (nothing held)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield flush()
    for count, row in enumerate(rows, 1):
        writer.writerow(_cells(row))
        if count % 200 == 0:
            yield flush()
    yield flush()
