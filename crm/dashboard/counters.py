"""The counters behind the dashboard and the report (crm/dashboard/models.py), and the exact
figures of any period read from them.

One description per table (its key and its sums, as SQL over one row of `enquiries`) makes
three things, so that they can never disagree:

- the triggers that keep the table in step with every insert, update and delete of an
  enquiry (created by the migration), on SQLite and PostgreSQL;
- `rebuild()`: the whole table again from `enquiries` in one GROUP BY (the migration's
  backfill, and the seed's bulk load, which loads with the triggers off);
- the same GROUP BY over a short stretch of time, for the edges of a period.

A period [start, end) is read as whole buckets (UTC months, or weeks for the intake chart)
from the counters, plus its partial buckets at either end from `enquiries` through the
index on the time column: either the part inside the period, or the whole bucket's counter
minus the part outside, whichever covers less time up to now. The built-in periods start a
local midnight (one or two hours from a UTC month's start) and end tonight (the rest of the
month is in the future: empty), so both edges read next to nothing; a custom period reads at
most half a bucket at each end. Figures are therefore exact for any period.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db

UNASSIGNED = 0  # the counters' assignee_id for an unassigned enquiry


def _month(column, dialect):
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {column} AT TIME ZONE 'UTC') AS date)"
    return f"date({column}, 'start of month')"


def _week(column, dialect):
    if dialect == "postgresql":
        return f"CAST(date_trunc('week', {column} AT TIME ZONE 'UTC') AS date)"
    return f"date({column}, '-6 days', 'weekday 1')"


def _hours(r, dialect):
    """Whole hours from receipt to the first response (a hair added against float rounding),
    as crm/dashboard/figures.py has always counted them."""
    if dialect == "postgresql":
        return (f"CAST(floor(extract(epoch from {r}first_response_at - {r}created_at) / 3600 + 0.000001) "
                f"AS integer)")
    return f"CAST((julianday({r}first_response_at) - julianday({r}created_at)) * 24 + 0.000001 AS INTEGER)"


def _flag(condition):
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _sums(r):
    return [(name, f"coalesce({r}{name}, 0)")
            for name in ("planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")]


@dataclass(frozen=True)
class Counter:
    table: str
    time_column: str | None  # the enquiries column the first key buckets, if any
    bucket: str | None  # "month" or "week"
    depends_on: tuple  # the enquiries columns an update must change to move a count

    def keys(self, r, dialect):
        """(column, SQL over the enquiry row whose columns are prefixed with `r`)."""
        assignee = ("assignee_id", f"coalesce({r}assignee_id, 0)")
        # In the order of the table's primary key (crm/dashboard/models.py), which is the order
        # the figures group by: SQLite reads a period's rows in that order and sums as it goes.
        if self.table == "dashboard_months":
            return [("month", _month(f"{r}created_at", dialect)), ("status", f"{r}status"),
                    ("sector", f"{r}sector"), ("source", f"{r}source"), assignee]
        if self.table == "dashboard_weeks":
            return [("week", _week(f"{r}created_at", dialect)), ("sector", f"{r}sector"), assignee]
        if self.table == "dashboard_response_hours":
            return [("month", _month(f"{r}created_at", dialect)), ("hours", _hours(r, dialect)), assignee]
        if self.table == "dashboard_closings":
            return [("month", _month(f"{r}closed_at", dialect)), ("status", f"{r}status"),
                    ("lost_reason", f"CASE WHEN {r}status = 'lost' THEN coalesce({r}lost_reason, '') ELSE '' END"),
                    ("sector", f"{r}sector"), assignee]
        return [("status", f"{r}status"), ("sector", f"{r}sector"), assignee]

    def measures(self, r):
        answered, due = f"{r}first_response_at IS NOT NULL", f"{r}response_due_at IS NOT NULL"
        if self.table == "dashboard_months":
            return [("n", "1"), ("answered", _flag(answered)),
                    ("on_time", _flag(f"{answered} AND {due} AND {r}first_response_at <= {r}response_due_at")),
                    ("answered_late", _flag(f"{answered} AND {due} AND {r}first_response_at > {r}response_due_at")),
                    ("unanswered_due", _flag(f"{r}first_response_at IS NULL AND {due}")), *_sums(r)]
        if self.table in ("dashboard_closings", "dashboard_totals"):
            return [("n", "1"), *_sums(r)]
        return [("n", "1")]

    def condition(self, r):
        """Whether a row counts here at all."""
        if self.table == "dashboard_weeks":
            return f"{r}status <> 'spam'"
        if self.table == "dashboard_response_hours":
            return f"{r}status <> 'spam' AND {r}first_response_at IS NOT NULL"
        if self.table == "dashboard_closings":
            return f"{r}status IN ('won', 'lost') AND {r}closed_at IS NOT NULL"
        return "1 = 1"


_FACTS = ("planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")
MONTHS = Counter("dashboard_months", "created_at", "month",
                 ("created_at", "sector", "source", "status", "assignee_id", "first_response_at",
                  "response_due_at", *_FACTS))
WEEKS = Counter("dashboard_weeks", "created_at", "week", ("created_at", "sector", "status", "assignee_id"))
HOURS = Counter("dashboard_response_hours", "created_at", "month",
                ("created_at", "first_response_at", "status", "assignee_id"))
CLOSINGS = Counter("dashboard_closings", "closed_at", "month",
                   ("closed_at", "sector", "status", "assignee_id", "lost_reason", *_FACTS))
TOTALS = Counter("dashboard_totals", None, None, ("sector", "status", "assignee_id", *_FACTS))
COUNTERS = (MONTHS, WEEKS, HOURS, CLOSINGS, TOTALS)


# --- SQL: triggers and rebuild ---------------------------------------------------------------

def _add(counter, r, dialect):
    keys, measures = counter.keys(r, dialect), counter.measures(r)
    columns = ", ".join(name for name, _ in keys + measures)
    values = ", ".join(sql for _, sql in keys + measures)
    conflict = ", ".join(name for name, _ in keys)
    update = ", ".join(f"{name} = {counter.table}.{name} + excluded.{name}" for name, _ in measures)
    return (f"INSERT INTO {counter.table} ({columns}) SELECT {values} WHERE {counter.condition(r)} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {update}")


def _subtract(counter, r, dialect):
    keys, measures = counter.keys(r, dialect), counter.measures(r)
    where = " AND ".join(f"{name} = {sql}" for name, sql in keys)
    update = ", ".join(f"{name} = {name} - {sql}" for name, sql in measures)
    return [f"UPDATE {counter.table} SET {update} WHERE {where} AND {counter.condition(r)}",  # noqa: S608
            f"DELETE FROM {counter.table} WHERE {where} AND n = 0"]  # noqa: S608 (our SQL)


def _changed(counter, dialect):
    differ = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in counter.depends_on)


def trigger_statements(dialect):
    """CREATE statements of every counter's triggers (and functions, on PostgreSQL)."""
    statements = []
    for c in COUNTERS:
        name = c.table
        add, subtract = _add(c, "NEW.", dialect), _subtract(c, "OLD.", dialect)
        columns = ", ".join(c.depends_on)
        if dialect == "postgresql":
            body = {"insert": [add], "delete": subtract, "update": [*subtract, add]}
            for event, parts in body.items():
                statements.append(
                    f"CREATE FUNCTION {name}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "; ".join(parts) + "; RETURN NULL; END $$")
            statements += [
                f"CREATE TRIGGER {name}_insert AFTER INSERT ON enquiries FOR EACH ROW "
                f"EXECUTE FUNCTION {name}_insert()",
                f"CREATE TRIGGER {name}_delete AFTER DELETE ON enquiries FOR EACH ROW "
                f"EXECUTE FUNCTION {name}_delete()",
                f"CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON enquiries FOR EACH ROW "
                f"WHEN ({_changed(c, dialect)}) EXECUTE FUNCTION {name}_update()",
            ]
        else:
            statements += [
                f"CREATE TRIGGER {name}_insert AFTER INSERT ON enquiries BEGIN {add}; END",
                f"CREATE TRIGGER {name}_delete AFTER DELETE ON enquiries BEGIN {'; '.join(subtract)}; END",
                f"CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON enquiries "
                f"WHEN {_changed(c, dialect)} BEGIN {'; '.join(subtract)}; {add}; END",
            ]
    return statements


def drop_statements(dialect):
    statements = []
    for c in COUNTERS:
        for event in ("insert", "delete", "update"):
            if dialect == "postgresql":
                statements.append(f"DROP TRIGGER IF EXISTS {c.table}_{event} ON enquiries")
                statements.append(f"DROP FUNCTION IF EXISTS {c.table}_{event}()")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {c.table}_{event}")
    return statements


def _group_by(counter, dialect, where="", keep=None):
    """One GROUP BY over `enquiries`: the counter's keys (or those named in `keep`) and sums."""
    keys = [(name, sql) for name, sql in counter.keys("", dialect) if keep is None or name in keep]
    if keep is not None:
        keys.sort(key=lambda key: keep.index(key[0]))
    select = ", ".join([sql for _, sql in keys] + [f"sum({sql})" for _, sql in counter.measures("")])
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    return (f"SELECT {select} FROM enquiries WHERE {counter.condition('')}{where} "  # noqa: S608 (our SQL)
            f"GROUP BY {positions}")


def rebuild_statements(dialect):
    """Every counter again from `enquiries`: what the triggers would have made. The totals are
    the month counter summed over months and sources (one pass over `enquiries` fewer)."""
    statements = []
    for c in COUNTERS:
        columns = ", ".join(name for name, _ in c.keys("", dialect) + c.measures(""))
        source = _group_by(c, dialect)
        if c is TOTALS:
            keys = ", ".join(name for name, _ in c.keys("", dialect))
            sums = ", ".join(f"sum({name})" for name, _ in c.measures(""))
            source = f"SELECT {keys}, {sums} FROM {MONTHS.table} GROUP BY {keys}"  # noqa: S608 (our names)
        statements += [f"DELETE FROM {c.table}",  # noqa: S608 (our names)
                       f"INSERT INTO {c.table} ({columns}) {source}"]
    return statements


def rebuild(connection):
    """Fill every counter from `enquiries` (after a load with the triggers off)."""
    for statement in rebuild_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


# --- Reading: the exact sums of a period ------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Whose enquiries a figure counts: everyone's (None), or those of these assignee ids
    (UNASSIGNED for the unassigned ones)."""

    assignees: tuple | None = None

    def where(self, column, params):
        if self.assignees is None:
            return ""
        names = []
        for i, assignee in enumerate(self.assignees):
            params[f"who{i}"] = assignee
            names.append(f":who{i}")
        return f" AND {column} IN ({', '.join(names)})"


TEAM = Scope()


def assigned_to(user_id):
    return Scope((user_id,))


def visible_to(viewer):
    """The counters' form of crm.triage.queries.visible_to: an admin sees all, a manager their
    own enquiries and the unassigned ones."""
    return TEAM if viewer.is_admin else Scope((viewer.id, UNASSIGNED))


def _floor(bucket, moment):
    day = moment.astimezone(UTC).date()
    return day.replace(day=1) if bucket == "month" else day - timedelta(days=day.weekday())


def _step(bucket, day):
    if bucket == "week":
        return day + timedelta(days=7)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _moment(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _plan(bucket, start, end, now):
    """How to read [start, end): (first, stop) the buckets read from the counter, and the
    stretches read from `enquiries` as (sign, from, to)."""
    def cost(a, b):  # the time a stretch covers up to now: the future holds (nearly) nothing
        return max(timedelta(0), min(b, now) - a)

    first, last = _floor(bucket, start), _floor(bucket, end)
    # When `end` opens a bucket, the last one read is the one before.
    last_exclusive = last if _moment(last) == end else _step(bucket, last)
    lo, hi, raw = first, last_exclusive, []
    if first == last and _moment(first) != start and hi != first:
        # Both ends inside one bucket: the part itself, or the bucket less both sides.
        outside = cost(_moment(first), start) + cost(end, _moment(hi))
        if cost(start, end) <= outside:
            return first, first, [(1, start, end)]
        return first, hi, [(-1, _moment(first), start), (-1, end, _moment(hi))]
    if _moment(first) != start:
        if cost(start, _moment(_step(bucket, first))) <= cost(_moment(first), start):
            lo = _step(bucket, first)
            raw.append((1, start, _moment(lo)))
        else:
            raw.append((-1, _moment(first), start))
    if _moment(last) != end and last_exclusive > lo:
        if cost(_moment(last), end) <= cost(end, _moment(last_exclusive)):
            hi = last
            raw.append((1, _moment(last), end))
        else:
            raw.append((-1, end, _moment(last_exclusive)))
    return lo, max(lo, hi), raw


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def cells(counter, scope, start, end, now=None, keep=None, where=""):
    """{key tuple: [sums…]} of `counter` over the rows whose time column is in [start, end),
    within `scope`: whole buckets from the counter, the edges from `enquiries`, summed by the
    database over the keys left out of `keep` (a tuple of key names; all by default). Buckets
    come as "YYYY-MM-DD"; keys whose count is 0 are left out. `where` is SQL over key columns
    that are plain enquiry columns (status, sector, source)."""
    dialect = db.session.get_bind().dialect.name
    keep = keep or tuple(name for name, _ in counter.keys("", dialect))
    measures = [name for name, _ in counter.measures("")]
    lo, hi, stretches = _plan(counter.bucket, start, end, now or utcnow())
    extra = f" AND {where}" if where else ""
    totals = {}

    def add(rows, sign):
        width = len(keep)
        for row in rows:
            key = tuple(map(_plain, row[:width]))
            values = [sign * int(v or 0) for v in row[width:]]
            old = totals.get(key)
            totals[key] = values if old is None else [a + b for a, b in zip(old, values, strict=True)]

    if hi > lo:
        params = {"lo": lo, "hi": hi}
        names = [name for name, _ in counter.keys("", dialect)]
        bucket, in_key_order = names[0], [name for name in names if name in keep]
        query = sa.text(
            f"SELECT {', '.join(keep)}, {', '.join(f'sum({m})' for m in measures)} "  # noqa: S608
            f"FROM {counter.table} WHERE {bucket} >= :lo AND {bucket} < :hi"
            f"{scope.where('assignee_id', params)}{extra} GROUP BY {', '.join(in_key_order)}"
        ).bindparams(sa.bindparam("lo", type_=sa.Date), sa.bindparam("hi", type_=sa.Date))
        add(db.session.execute(query, params), 1)
    for sign, a, b in stretches:
        if b <= a:
            continue
        params = {"a": a, "b": b}
        between = (f" AND {counter.time_column} >= :a AND {counter.time_column} < :b"
                   + scope.where("coalesce(assignee_id, 0)", params) + extra)
        query = sa.text(_group_by(counter, dialect, between, keep)).bindparams(
            sa.bindparam("a", type_=UTCDateTime), sa.bindparam("b", type_=UTCDateTime))
        add(db.session.execute(query, params), sign)
    return {key: sums for key, sums in totals.items() if sums[0]}


def percentiles(scope, start, end, now=None):
    """{month "YYYY-MM-DD": (median, 90th percentile)} of the whole hours to the first response
    of the enquiries received in [start, end) (spam left out), by nearest rank over the histogram
    (dashboard_response_hours plus the period's edges), summed over assignees by the database."""
    dialect = db.session.get_bind().dialect.name
    lo, hi, stretches = _plan(HOURS.bucket, start, end, now or utcnow())
    params, binds, parts = {}, [], []
    if hi > lo:
        params.update({"lo": lo, "hi": hi})
        binds += [sa.bindparam("lo", type_=sa.Date), sa.bindparam("hi", type_=sa.Date)]
        parts.append(f"SELECT month, hours, n FROM {HOURS.table} WHERE month >= :lo AND month < :hi"  # noqa: S608
                     + scope.where("assignee_id", params))
    month, hours = _month("created_at", dialect), _hours("", dialect)
    for i, (sign, a, b) in enumerate(stretches):
        if b > a:
            params.update({f"a{i}": a, f"b{i}": b})
            binds += [sa.bindparam(f"a{i}", type_=UTCDateTime), sa.bindparam(f"b{i}", type_=UTCDateTime)]
            parts.append(f"SELECT {month}, {hours}, {sign} FROM enquiries WHERE {HOURS.condition('')} "  # noqa: S608
                         f"AND created_at >= :a{i} AND created_at < :b{i}"
                         + scope.where("coalesce(assignee_id, 0)", params))
    if not parts:
        return {}
    # The database sums the histogram (a few thousand hour values a year at most); ranking it
    # here is cheaper than the database's window functions over the same rows.
    query = sa.text(
        f"WITH parts (month, hours, n) AS ({' UNION ALL '.join(parts)}) "  # noqa: S608 (our SQL)
        "SELECT month, hours, sum(n) FROM parts GROUP BY month, hours ORDER BY month, hours"
    ).bindparams(*binds)
    histograms = {}
    for month, hours, n in db.session.execute(query, params):
        if n:
            histograms.setdefault(_plain(month)[:10], []).append((hours, int(n)))
    ranks = {}
    for month, histogram in histograms.items():
        total, seen, median, p90 = sum(n for _, n in histogram), 0, None, None
        for hours, n in histogram:  # nearest rank: the first whose running count reaches it
            seen += n
            if median is None and 2 * seen >= total:
                median = hours
            if 10 * seen >= 9 * total:
                p90 = hours
                break
        ranks[month] = (median, p90)
    return ranks


def all_time(counter, scope):
    """{key: [sums…]} of a counter without a time key (dashboard_totals)."""
    dialect = db.session.get_bind().dialect.name
    keys, measures = counter.keys("", dialect), counter.measures("")
    params = {}
    query = sa.text(f"SELECT {', '.join(name for name, _ in keys + measures)} FROM {counter.table} "  # noqa: S608
                    f"WHERE 1 = 1{scope.where('assignee_id', params)}")
    return {tuple(row[:len(keys)]): [int(v or 0) for v in row[len(keys):]]
            for row in db.session.execute(query, params) if row[len(keys)]}
