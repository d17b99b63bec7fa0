"""Streamed CSV exports: the database writes the CSV text, Python passes it on in batches.

One way for every CSV export of the GDPR hub (consents.csv, audit.csv, retention.csv): an
export is a header and one or more `Part`s, each a query whose cells are typed (`text`,
`plain`, `utc`), read in keyset order so that memory stays flat at any size.

- PostgreSQL: `COPY (…) TO STDOUT WITH (FORMAT csv)`, streamed as the server writes it (what
  `psql \\copy` does); neutralising and timestamp formatting run in the server.
- SQLite has no COPY. Each batch of rows comes back as ONE value: the rows' CSV lines built by
  SQLite (`printf` per row, formula cells neutralised with comparisons, timestamps cut from the
  stored text) and joined by `group_concat`, cast to a BLOB so that the driver hands over the
  UTF-8 bytes as they are. Looking for the characters that force CSV quoting costs SQLite more
  than the rest of the line together, so the batch is checked in Python instead, in one C pass
  over the bytes: when it holds exactly (columns − 1) × rows commas, rows − 1 CRs and LFs and
  no double quote, no cell contains any of them and the lines are exact. Otherwise the same
  rows are read again with every cell quoted where needed (as `csv.writer` does).

The bytes differ from `csv.writer`'s only where a CSV parser does not see a difference
(PostgreSQL ends lines with LF and writes an empty string as `""`). docs/performance.md has the
numbers.
"""

import contextlib
import csv
import io
from dataclasses import dataclass

import sqlalchemy as sa

from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from crm.gdpr.subjects import ANONYMOUS_EMAIL

BATCH = 5000
CONSENT_COLUMNS = ("reference", "email", "name", "given_at", "policy_version", "policy_sha256",
                   "method", "ip_address", "withdrawn_at")
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CODES = sorted(ord(c) for c in FORMULA_STARTS)
# Characters that make csv.writer quote a cell (QUOTE_MINIMAL with a CRLF line terminator).
_QUOTE_IF = ('"', ",", "\n", "\r")


@dataclass(frozen=True)
class Cell:
    """One column of an export: `kind` says how the database writes it."""

    kind: str  # "text" (neutralised), "plain", "utc" (seconds) or "utc_precise" (microseconds)
    column: sa.ColumnElement


def text(column):
    """Text a spreadsheet shows and never runs: a leading = + - @ tab or CR gets a '."""
    return Cell("text", column)


def plain(column):
    """Written as it is: whole numbers (ids) and the export's own fixed words."""
    return Cell("plain", column)


def utc(column, precise=False):
    """A UTC timestamp as ISO 8601, `2026-11-27T12:00:00Z`; `precise` keeps the microseconds
    when there are any (`2026-11-27T12:00:00.250000Z`, as `datetime.isoformat` writes them)."""
    return Cell("utc_precise" if precise else "utc", column)


def plus_days(column, days):
    """SQL: a UTC timestamp column `days` (an SQL integer) later, exactly (24-hour days)."""
    from crm.core.db import UTCDateTime

    if db.engine.dialect.name == "postgresql":
        return sa.type_coerce(column.op("+")(sa.func.make_interval(0, 0, 0, 0, days * 24)), UTCDateTime())
    # Stored text: whole seconds shifted, the microseconds carried over as they are.
    shifted = sa.func.strftime("%Y-%m-%d %H:%M:%S", sa.func.substr(column, 1, 19),
                               sa.func.printf("%+d days", days))
    return sa.type_coerce(shifted + sa.func.coalesce(sa.func.substr(column, 20), ""), UTCDateTime())


@dataclass(frozen=True)
class Part:
    """Rows of an export: `select` gives FROM, joins and WHERE (its columns are ignored); rows
    come in the order of `key`, a unique column (None: a query of one row, such as a summary)."""

    select: sa.Select
    key: sa.ColumnElement | None
    cells: tuple[Cell, ...]


def csv_stream(header, *parts, batch=None):
    """Yield the CSV bytes of `header` and the `parts`' rows, in batches, with flat memory."""
    batch = batch or BATCH
    with db.engine.connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        yield _header(header, "\n" if postgresql else "\r\n")
        if postgresql:
            for part in parts:
                yield from _copy(connection, part)
            return
        with _small_page_cache(connection):
            for part in parts:
                yield from _sqlite_batches(connection, part, batch)


def _header(header, lineterminator):
    buffer = io.StringIO()
    # COPY ends lines with LF; the header matches it there (CRLF elsewhere, as csv writes).
    csv.writer(buffer, lineterminator=lineterminator).writerow(header)
    return buffer.getvalue().encode()


# PostgreSQL ------------------------------------------------------------------------------------

def _pg_cell(cell):
    column = cell.column
    if cell.kind == "text":
        first = sa.func.substr(column, 1, 1)
        return sa.case((first.in_(FORMULA_STARTS), sa.literal("'") + column), else_=column)
    if cell.kind == "plain":
        return column
    utc_time = sa.func.timezone("UTC", column)
    seconds = sa.func.to_char(utc_time, 'YYYY-MM-DD"T"HH24:MI:SS')
    if cell.kind == "utc":
        return seconds + "Z"
    micro = sa.func.to_char(utc_time, "US")
    return seconds + sa.case((micro == "000000", ""), else_="." + micro) + "Z"


def _compiled(connection, query):
    """(SQL for the driver, its parameters by name with SQLAlchemy's type processing applied,
    the names in the order of the placeholders): compiled once, run through the driver's
    cursor, so that SQLAlchemy's per-statement work is not repeated for every batch."""
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    processors = getattr(compiled, "_bind_processors", {})
    params = {name: processors[name](value) if name in processors else value
              for name, value in compiled.construct_params().items()}
    return str(compiled), params, compiled.positiontup


def _copy(connection, part):
    query = part.select.with_only_columns(*map(_pg_cell, part.cells))
    if part.key is not None:
        query = query.order_by(part.key)
    sql, params, _ = _compiled(connection, query)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        # Values merged client-side by psycopg (COPY takes no parameters); bytes as the server
        # sends them (a chunk may end inside a UTF-8 character).
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for chunk in copy:
                yield bytes(chunk)
    finally:
        cursor.close()
    connection.rollback()


# SQLite ----------------------------------------------------------------------------------------

def _sqlite_cell(cell):
    """The cell as (printf format, arguments), unquoted; NULL is written as nothing."""
    column = cell.column
    if cell.kind == "text":
        # Letters, digits and anything past ASCII cannot start a formula: comparisons decide
        # for almost every cell (unicode() only for the rest), the cheapest test SQLite has.
        return "%s", [sa.case(
            (sa.and_(column < "A", sa.or_(column < "0", column >= ":"),
                     sa.func.unicode(column).in_(_FORMULA_CODES)), sa.literal("'") + column),
            else_=column,
        )]
    if cell.kind == "plain":
        return "%s", [column]
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC, crm.core.db.UTCDateTime): T for the
    # space, cut at the seconds, a Z. "%.*s" with the precision `present` (0 or 1) writes the
    # Z only for a value, with no CASE and no second printf.
    present = sa.cast(column.is_not(None), sa.Integer)
    if cell.kind == "utc":
        return "%.19s%.*s", [sa.func.replace(column, " ", "T"), present, "Z"]
    time_of_day = sa.func.substr(column, 12)
    return "%s", [sa.case(  # with the microseconds when there are any, as isoformat() writes
        (column.is_(None), sa.null()),
        (sa.func.substr(column, 20).in_(("", ".000000")),
         sa.func.printf("%.10sT%.8sZ", column, time_of_day)),
        else_=sa.func.printf("%.10sT%sZ", column, time_of_day),
    )]


def _quoted(cell):
    """The cell as csv.writer writes it: in double quotes (doubled inside) when it holds a
    double quote, comma, CR or LF. For the few batches that have such a cell."""
    form, args = _sqlite_cell(cell)
    if cell.kind != "text":
        return form, args
    (value,) = args
    column = cell.column
    needs_quotes = sa.or_(*(sa.func.instr(column, c) > 0 for c in _QUOTE_IF))
    return "%s", [sa.case((needs_quotes, '"' + sa.func.replace(value, '"', '""') + '"'),
                          else_=value)]


def _line(cells, cell_sql):
    """SQL: one CSV line of `cells`, written by one printf."""
    forms, args = [], []
    for form, cell_args in map(cell_sql, cells):
        forms.append(form)
        args.extend(cell_args)
    return sa.func.printf(",".join(forms), *args)


def _batch_query(part, line, batch, *, after, upto):
    """SQL: (last key, rows, the rows' lines joined by CRLF as bytes) of a batch: the next
    `batch` rows after the bind parameter `after` (when `after`), or, read again (`upto`),
    those up to the key `upto` (the same range as the first reading)."""
    rows = part.select.with_only_columns(
        (part.key if part.key is not None else sa.literal(0)).label("k"), line.label("line"))
    if part.key is not None:
        rows = rows.order_by(part.key)
        if after:
            rows = rows.where(part.key > sa.bindparam("after", None, type_=part.key.type))
        upto_key = sa.bindparam("upto", None, type_=part.key.type)
        rows = rows.where(part.key <= upto_key) if upto else rows.limit(batch)
    rows = rows.subquery()
    # The subquery's ORDER BY and LIMIT keep it from being flattened into the aggregate, so
    # group_concat receives the rows in key order.
    return sa.select(sa.func.max(rows.c.k), sa.func.count(),
                     sa.cast(sa.func.group_concat(rows.c.line, "\r\n"), sa.LargeBinary))


def _exact(data, rows, columns):
    """True when no cell of these `rows` lines holds a character that needs quoting: the
    lines' commas, CRs and LFs are the separators, and nothing else (one pass over the bytes)."""
    separators = (columns - 1) * rows + 2 * (rows - 1)
    return b'"' not in data and len(data) - len(data.translate(None, b",\r\n")) == separators


def _sqlite_batches(connection, part, batch):
    lines = {"fast": _line(part.cells, _sqlite_cell), "careful": _line(part.cells, _quoted)}
    statements = {}

    def read(kind, after, upto=None):
        shape = (kind, after is not None, upto is not None)
        if shape not in statements:
            statements[shape] = _compiled(connection, _batch_query(
                part, lines[kind], batch, after=shape[1], upto=shape[2]))
        sql, params, names = statements[shape]
        values = {**params, "after": after, "upto": upto}
        return cursor.execute(sql, [values[name] for name in names]).fetchone()

    columns = len(part.cells)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        after = None
        while True:
            last, rows, data = read("fast", after)
            if rows and not _exact(data, rows, columns):
                last, rows, data = read("careful", after, upto=last if part.key is not None else None)
            connection.rollback()  # each batch is one short read: no snapshot held between them
            if not rows:
                return
            yield data + b"\r\n"
            if part.key is None:
                return
            after = last
    finally:
        cursor.close()


@contextlib.contextmanager
def _small_page_cache(connection):
    """SQLite: a full scan gains nothing from the 64 MiB page cache (crm.core.db) and would fill
    it, growing the worker by as much; the export's connection uses 8 MiB, then gets it back."""
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar())
    connection.exec_driver_sql("PRAGMA cache_size=-8192")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={previous}")
        connection.rollback()


# The consent register ---------------------------------------------------------------------------

def consent_part():
    """The consent register (CONTRACT §6), keyed by the consent's id; erased people excluded."""
    return Part(
        select=(sa.select(Consent.id)
                .join(Contact, Contact.id == Consent.contact_id)
                .outerjoin(Enquiry, Enquiry.id == Consent.enquiry_id)
                .where(Contact.email != ANONYMOUS_EMAIL)),
        key=Consent.id,
        cells=(text(Enquiry.reference), text(Contact.email), text(Contact.name),
               utc(Consent.given_at), text(Consent.policy_version), text(Consent.policy_sha256),
               text(Consent.method), text(Consent.ip_address), utc(Consent.withdrawn_at)),
    )


def consent_csv():
    """The consent register as streamed CSV bytes, oldest consent first."""
    return csv_stream(CONSENT_COLUMNS, consent_part())
