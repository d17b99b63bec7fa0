"""Synthetic demo data: staff (Helena Peyron among them) and realistic enquiries, in bulk.

Every prospect and company here is fictional; addresses use reserved `.example` domains.
"""

import functools
import multiprocessing
import os
import pickle
import random
import secrets
import sqlite3
import tempfile
import time
import unicodedata
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app

from crm.core.db import utcnow
from crm.dashboard import counters
from crm.enquiries.models import CLOSED_STATUSES, Enquiry
from crm.enquiries.options import SECTORS, TOPICS
from crm.enquiries.policy import current_policy
from crm.enquiries.references import ALPHABET
from crm.extensions import db
from crm.staff.models import User
from crm.staff.passwords import hash_password

DEMO_RULE_OWNER = "helena.peyron@investinaalborg.example"
STAFF = [
    # email, name, title, role, sectors, languages
    ("admin@investinaalborg.example", "Mette Kjær", "Head of Investment Promotion", "admin", [], ["en", "da"]),
    ("helena.peyron@investinaalborg.example", "Helena Peyron", "Senior Investment Manager", "manager",
     ["medtech", "healthit", "robotics"], ["en", "da"]),
    ("jonas.lund@investinaalborg.example", "Jonas Lund", "Investment Manager", "manager",
     ["biotech", "pharma"], ["en", "da"]),
    ("sofie.norgaard@investinaalborg.example", "Sofie Nørgaard", "Investment Manager", "manager",
     [], ["en", "da"]),
]

FIRST_NAMES = ["Ada", "Lars", "Søren", "Mette", "Ingrid", "Anders", "Freja", "Mikkel", "Astrid",
               "Jens", "Sanna", "Olli", "Aino", "Klaus", "Greta", "Pierre", "Camille", "Luca",
               "Giulia", "Sarah", "James", "Priya", "Arjun", "Wei", "Yuki", "Hiroshi", "Chloé",
               "José", "Zoë", "Ólafur", "Björk", "Łukasz", "Dvořák", "Emma", "Noah", "محمد", "李"]
LAST_NAMES = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
              "Sørensen", "Rasmussen", "Jørgensen", "Madsen", "Kristensen", "Olsen", "Thomsen",
              "Lindqvist", "Virtanen", "Müller", "Schmidt", "Dubois", "Rossi", "Smith", "Patel",
              "Chen", "Tanaka", "García", "Nowak", "Kowalski", "O'Brien", "Ærø", "王", "Hoffmann"]
COMPANY_PARTS = (["Nordic", "Baltic", "Aurora", "Limfjord", "Polar", "Fjord", "Helix", "Vital",
                  "Cardio", "Neuro", "Ortho", "Bio", "Gene", "Pulse", "Synapse", "Medi"],
                 ["Implants", "Diagnostics", "Therapeutics", "Robotics", "Analytics", "Devices",
                  "Labs", "Pharma", "Health", "Sensors", "Biologics", "Imaging"],
                 ["ApS", "A/S", "AB", "GmbH", "Ltd", "Inc.", "Oy", "BV", "SAS"])
COUNTRIES = ["DK"] * 6 + ["SE", "NO", "DE", "FI", "NL", "GB", "US", "FR", "IT", "PL", "JP",
                          "CN", "IN", "CH", "ES", "IE", "KR", "CA", "IL", "BE"]
MESSAGES = [
    "We plan a European R&D site and would like to visit Aalborg to meet the university.",
    "Could you introduce us to clinical partners at Aalborg University Hospital for a trial?",
    "We are looking for robotics engineers and would like to know about the talent pool.",
    "Our Series B includes funds for a Nordic subsidiary. What support can you offer?",
    "Vi overvejer at etablere en afdeling i Nordjylland og vil gerne høre om mulighederne.",
    "Interested in a research partnership on rehabilitation technology with AAU.",
    "Please send information about office and lab space near the new university hospital.",
    "We would like to discuss a pilot of our health IT platform with the region.",
]
STATUS_WEIGHTS = {"new": 6, "contacted": 14, "qualified": 10, "meeting": 8, "proposal": 5,
                  "won": 7, "lost": 14, "spam": 2}
LOST_REASONS = ["Chose another location", "Project cancelled", "No budget this year",
                "Not a life-science project", "Went with a competitor region"]
PROJECT_TYPES = ["greenfield", "expansion", "r_and_d", "partnership", "other"]
# Statuses that carry the project's planned facts; won ones realise some of them.
PROJECT_STATUSES = frozenset({"qualified", "meeting", "proposal", "won"})
YEARS = 5
BATCH = 50000
BULK_FROM = 50_000  # a load this large drops its indexes and triggers, and builds them once
FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass
class SeedResult:
    enquiries: int = 0
    seconds: float = 0.0
    logins: list = field(default_factory=list)


def seed_staff():
    """Create the demo staff that do not exist yet; returns (email, password, role) of new ones."""
    logins = []
    existing = set(db.session.scalars(sa.select(User.email)))
    for email, name, title, role, sectors, languages in STAFF:
        if email in existing:
            continue
        password = secrets.token_urlsafe(12)
        db.session.add(User(email=email, name=name, title=title, role=role, sectors=sectors,
                            languages=languages, password_hash=hash_password(password)))
        logins.append((email, password, role))
    db.session.flush()
    _seed_medtech_rule()
    db.session.commit()
    return logins


def _seed_medtech_rule():
    """Helena Peyron leads medtech: the demo shows a rule before the load balancing."""
    from crm.assignment.models import AssignmentRule

    helena = db.session.scalar(sa.select(User).where(User.email == DEMO_RULE_OWNER))
    if helena is None or db.session.scalar(sa.select(AssignmentRule.id).limit(1)) is not None:
        return
    db.session.add(AssignmentRule(priority=10, sectors=["medtech"], user_id=helena.id,
                                  description="Helena Peyron leads medtech"))


def database_is_empty():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0 and \
        db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 0


def _logins_path():
    return Path(current_app.instance_path) / "demo-logins.txt"


def save_demo_logins(logins):
    """Keep the generated demo passwords in instance/ (mode 600) so `make run` can show them again."""
    if not logins:
        return
    path = _logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for email, password, role in logins:
            f.write(f"{role}\t{email}\t{password}\n")
    path.chmod(0o600)


def read_demo_logins():
    path = _logins_path()
    if not path.exists():
        return []
    rows = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if line.strip()]
    return [(email, password, role) for role, email, password in rows]


class _BulkWriter:
    """Writes already-shaped tuples straight through the driver: COPY on PostgreSQL,
    executemany on SQLite. Several times faster than SQLAlchemy's per-value type processing;
    only for trusted rows such as demo data. Times are given as naive UTC datetimes."""

    _ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

    def __init__(self, connection):
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"
        self.zone = "+00" if self.postgresql else ""

    def time(self, value):
        return None if value is None else value.isoformat(" ", "microseconds") + self.zone

    def shape(self, rows):
        """The rows as this database takes them: COPY's text on PostgreSQL (may be made in
        another process), the tuples themselves on SQLite."""
        if not self.postgresql:
            return rows
        escape = self._ESCAPE
        return "".join(
            "\t".join("\\N" if v is None else v.translate(escape) if isinstance(v, str) else str(v)
                      for v in row) + "\n"
            for row in rows)

    def write(self, table, columns, rows):
        """`rows` as shape() made them."""
        if not rows:
            return
        if self.postgresql:
            if not self.connection.in_transaction():
                self.connection.begin()  # else commit() would not know of the COPY below
            cursor = self.connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(rows if isinstance(rows, str) else self.shape(rows))
            return
        placeholders = ", ".join("?" for _ in columns)
        self.connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608 (our names)
            rows,
        )

    def next_id(self, table):
        return self.connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").scalar()  # noqa: S608

    def sync_sequence(self, table):
        """Rows went in with explicit ids: move PostgreSQL's sequence past them."""
        if self.postgresql:
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608


BULK_TABLES = ("contacts", "enquiries", "consents", "activities")
BULK_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
              "AND sql NOT LIKE :unique AND tbl_name IN ({tables})",
    # PostgreSQL's trigram GIN indexes are among these: built once at the end.
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                  "AND indexdef NOT LIKE :unique AND tablename IN ({tables})",
}


@contextmanager
def _bulk_load(connection, rows):
    """Load settings for a large seed: the non-unique indexes (and the triggers that fill the
    FTS5 search table on SQLite and the dashboard's counters) are dropped or disabled and built
    again at the end (one sort, one FTS 'rebuild', one GROUP BY per counter, instead of a
    million random inserts), and on SQLite there is no fsync
    and no foreign-key lookup while the rows go in (they are consistent by construction). The
    indexes and the connection's usual settings come back even if the load fails."""
    sqlite = connection.dialect.name == "sqlite"
    indexes = []
    if rows >= BULK_FROM:
        tables = ", ".join(f"'{t}'" for t in BULK_TABLES)
        indexes = connection.execute(sa.text(BULK_INDEXES[connection.dialect.name].format(tables=tables)),
                                     {"unique": "CREATE UNIQUE%"}).all()
    connection.commit()  # PRAGMA foreign_keys only changes outside a transaction
    if sqlite:
        for pragma in ("synchronous=OFF", "foreign_keys=OFF", "cache_size=-262144", "temp_store=MEMORY"):
            connection.exec_driver_sql(f"PRAGMA {pragma}")
    for name, definition in indexes:
        kind = "TRIGGER" if definition.upper().startswith("CREATE TRIGGER") else "INDEX"
        connection.exec_driver_sql(f'DROP {kind} "{name}"')
    if indexes and not sqlite:  # the dashboard counters' triggers (SQLite's went with the others)
        connection.exec_driver_sql("ALTER TABLE enquiries DISABLE TRIGGER USER")
    search = sqlite and any(name.startswith("contacts_search") for name, _ in indexes)
    # The caller may have the search index and the counters built elsewhere, from the same
    # schema (see _RowProcess), and hand over the scratch file through load.aside_built().
    load = SimpleNamespace(aside=search and _aside_schema(connection), aside_built=None)
    failed = False
    try:
        yield load
    except BaseException:
        failed = True
        raise
    finally:
        connection.rollback()
        for _, definition in indexes:
            connection.exec_driver_sql(definition)
        built = None
        if search and not failed and load.aside_built is not None:
            try:
                built = load.aside_built()
            except RuntimeError:  # then all is built here, as without a second process
                current_app.logger.exception("the seed's search index and counters were not built aside")
        if built:
            _copy_aside(connection, built)
        elif indexes:  # the counters the triggers did not keep: one GROUP BY each
            if not sqlite:
                connection.exec_driver_sql("ALTER TABLE enquiries ENABLE TRIGGER USER")
            counters.rebuild(connection)
        if search and not built:
            connection.exec_driver_sql("INSERT INTO contacts_search(contacts_search) VALUES ('rebuild')")
        if indexes:  # fresh statistics, so that the planner knows which index is selective
            if sqlite:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
        connection.commit()
        if sqlite:
            for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536", "temp_store=DEFAULT"):
                connection.exec_driver_sql(f"PRAGMA {pragma}")
        if built:  # FTS5 caches an index's structure per connection: this one is not reused
            connection.invalidate()


SEARCH_SHADOW_TABLES = ("contacts_search_data", "contacts_search_idx", "contacts_search_docsize")


def _counter_tables():
    return [c.table for c in counters.COUNTERS]


def _aside_schema(connection):
    """What _Aside needs to build the search index and counters as this database would: the
    definitions of the FTS5 table and the counters' tables, the declared types of the
    enquiries' columns, and the counters' rebuild statements."""
    names = ("contacts_search", *_counter_tables())
    marks = ", ".join("?" for _ in names)
    definitions = dict(connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names).all())  # noqa: S608
    types = {row[1]: row[2] for row in connection.exec_driver_sql("PRAGMA table_info(enquiries)")}
    statements = counters.rebuild_statements("sqlite")
    read = " ".join(statements)
    return {"tables": [definitions[name] for name in names],
            "enquiry_columns": [(name, types[name]) for name in ENQUIRY_COLUMNS if name in read and name != "id"],
            "counters": statements}


def _copy_aside(connection, path):
    """The search index and the counters as _Aside built them in the scratch file `path` (the
    same definitions, the same rows): their tables are copied as they are, instead of a FTS
    'rebuild' here (which would tokenise every contact again) and a GROUP BY per counter."""
    connection.exec_driver_sql("ATTACH DATABASE ? AS aside", (path,))
    for table in (*SEARCH_SHADOW_TABLES, *_counter_tables()):
        connection.exec_driver_sql(f"DELETE FROM main.{table}")  # noqa: S608 (our names)
        connection.exec_driver_sql(f"INSERT INTO main.{table} SELECT * FROM aside.{table}")  # noqa: S608
    connection.commit()
    connection.exec_driver_sql("DETACH DATABASE aside")


@functools.cache
def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "") or "x"


# Ten bits of a reference at a time: two base32 characters per lookup.
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]


def _reference(bits):
    return (f"AAL-{_PAIRS[bits >> 30]}{_PAIRS[(bits >> 20) & 1023]}-"
            f"{_PAIRS[(bits >> 10) & 1023]}{_PAIRS[bits & 1023]}")


def _response_due(created):
    """Two working days (Mon–Fri) after receipt; the demo ignores public holidays. A weekend
    enquiry is due at the end of Tuesday."""
    weekday = created.weekday()
    if weekday >= 5:
        monday = (created + timedelta(days=7 - weekday)).replace(hour=0, minute=0, second=0, microsecond=0)
        return monday + timedelta(days=2)
    return created + timedelta(days=2 if weekday <= 2 else 4)


def seed_demo(count, seed=None):
    """Demo staff plus `count` enquiries with contacts, consents and one timeline entry each,
    spread over five years: statuses, managers, follow-ups, first responses (mostly on time),
    response targets, priorities, lost reasons and project facts. Rows go in BATCH at a time
    through _BulkWriter with explicit ids; nothing is queued for email."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    result = SeedResult(logins=seed_staff())
    save_demo_logins(result.logins)
    managers = list(db.session.scalars(sa.select(User.id).where(User.role == "manager")))
    policy = current_policy()
    policy = {"version": policy.version, "sha256": policy.sha256}  # plain values: no reload after commit
    taken = set(db.session.scalars(sa.select(Enquiry.reference)))
    run = secrets.token_hex(2)
    now = utcnow().replace(tzinfo=None)
    span = YEARS * 365 * 86400
    # Sorted, so that ids grow with time as they do in real life.
    offsets = sorted(rng.randrange(span) for _ in range(count))
    first = now - timedelta(seconds=span)
    db.session.commit()
    # A connection of its own: the batches commit one by one, outside the session's transaction.
    with db.engine.connect() as connection, ExitStack() as stack, _bulk_load(connection, count) as load:
        writer = _BulkWriter(connection)
        contact_id, enquiry_id = writer.next_id("contacts"), writer.next_id("enquiries")

        def batches():
            for offset in range(0, count, BATCH):
                yield _batch_rows(writer.time, rng, offsets[offset:offset + BATCH], first, now, managers,
                                  taken, f"{run}{offset}", contact_id + offset, enquiry_id + offset,
                                  newest=offsets[-1])  # the newest one is always still new

        rows = (_shaped(writer.shape, contacts, enquiries) for contacts, enquiries in batches())
        if count >= BULK_FROM:  # drawn in a second process while this one writes
            aside = load.aside if contact_id == enquiry_id == 1 else None  # into empty tables only
            rows = stack.enter_context(_RowProcess(batches, writer.shape, aside))
            load.aside_built = rows.aside_built
        for contacts, enquiries, first_id, size in rows:
            _write_batch(writer, contacts, enquiries, first_id, size, policy)
            connection.commit()
            result.enquiries += size
        writer.sync_sequence("contacts")
        writer.sync_sequence("enquiries")
    result.seconds = time.perf_counter() - started
    current_app.logger.info("seeded %s enquiries in %.1f s", result.enquiries, result.seconds)
    return result


CONTACT_COLUMNS = ("id", "email", "name", "company", "phone", "country", "created_at", "updated_at")
ENQUIRY_COLUMNS = ("id", "reference", "contact_id", "sector", "topic", "message", "language", "source",
                   "status", "lost_reason", "assignee_id", "next_follow_up_on", "first_response_at",
                   "response_due_at", "priority", "created_at", "updated_at", "last_activity_at",
                   "closed_at", "project_type", "planned_jobs", "realised_jobs", "planned_capex_eur",
                   "realised_capex_eur")
CONSENTS_FROM_ENQUIRIES = (
    "INSERT INTO consents (contact_id, enquiry_id, purpose, lawful_basis, policy_version, policy_sha256, "
    "method, evidence, given_at, ip_address, user_agent) "
    "SELECT contact_id, id, 'enquiry_handling', 'consent', :version, :sha256, source, "
    "CASE WHEN source = 'manual' THEN 'Consent given by phone, noted by the manager' END, created_at, "
    "CASE WHEN source <> 'manual' THEN '192.0.2.' || (id % 254 + 1) END, "
    "CASE WHEN source <> 'manual' THEN 'Mozilla/5.0 (demo data)' END "
    "FROM enquiries WHERE id BETWEEN :first AND :last"
)
# One timeline entry each keeps the seed fast: the creation, or the latest status change.
ACTIVITY_DETAILS = ("CASE WHEN status = 'new' THEN '{\"source\": \"' || source || '\"}' "
                    "ELSE '{\"from\": \"new\", \"to\": \"' || status || '\"}' END")
ACTIVITIES_FROM_ENQUIRIES = (
    "INSERT INTO activities (enquiry_id, actor_id, kind, details, created_at) "
    "SELECT id, CASE WHEN status <> 'new' THEN assignee_id END, "
    "CASE WHEN status = 'new' THEN 'created' ELSE 'status_changed' END, {details}, "
    "CASE WHEN status = 'new' THEN created_at ELSE last_activity_at END "
    "FROM enquiries WHERE id BETWEEN :first AND :last"
)


class _RowProcess:
    """The batches of `batches()` drawn in a forked child process and handed over through a
    pipe (at most one batch ahead), so that drawing rows and writing them use both cores. The
    child inherits the random state and everything else it needs; an error in it is raised here.

    With `aside` (SQLite, into empty tables; see _bulk_load), a second child builds, in a
    scratch SQLite file, what the parent would otherwise build after the load: the FTS5 search
    index of the contacts and the dashboard's counters of the enquiries, with the very table
    definitions and SQL of the parent's database, from the same batches (pickled once, sent to
    both), while the parent writes the rows and builds its indexes. `aside_built()` waits for
    that file."""

    def __init__(self, batches, shape, aside=None):
        context = multiprocessing.get_context("fork")
        self.receiver, sender = context.Pipe(duplex=False)
        self.path = self.built = None
        rows_in = rows_out = built_out = None
        self.processes = []
        if aside:
            handle, self.path = tempfile.mkstemp(prefix="crm-seed-aside-", suffix=".sqlite3")
            os.close(handle)
            rows_in, rows_out = context.Pipe(duplex=False)
            self.built, built_out = context.Pipe(duplex=False)
        # Each process closes the ends it does not use, so that a reader sees the end of a
        # writer that stopped.
        if aside:
            self.processes.append(context.Process(
                target=_build_aside, args=(self.path, aside, rows_in, built_out,
                                           (self.receiver, sender, rows_out, self.built)),
                name="crm-seed-aside", daemon=True))
        self.processes.append(context.Process(
            target=_produce, args=(batches, shape, sender, rows_out, (self.receiver, rows_in, self.built, built_out)),
            name="crm-seed-rows", daemon=True))
        for process in self.processes:
            process.start()
        for end in (sender, rows_in, rows_out, built_out):
            if end is not None:
                end.close()

    def _next(self, receiver):
        try:
            message = receiver.recv()
        except EOFError:
            raise RuntimeError("a process of the seed stopped") from None
        if isinstance(message, BaseException):
            raise message
        return message

    def __iter__(self):
        while (batch := self._next(self.receiver)) is not None:
            yield batch

    def aside_built(self):
        """The scratch file with the search index and counters (after the last batch)."""
        return self._next(self.built) if self.path else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for end in (self.receiver, self.built):
            if end is not None:
                end.close()
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()
        if self.path:
            Path(self.path).unlink(missing_ok=True)


def _close(ends):
    for end in ends:
        if end is not None:
            end.close()


def _produce(batches, shape, sender, rows_out, unused):
    """The row process: every batch, pickled once, to the parent and to the aside process."""
    _close(unused)
    try:
        for contacts, enquiries in batches():
            batch = pickle.dumps(_shaped(shape, contacts, enquiries), pickle.HIGHEST_PROTOCOL)
            sender.send_bytes(batch)
            if rows_out is not None:  # SQLite: the same tuples
                rows_out.send_bytes(batch)
        sender.send(None)
        if rows_out is not None:
            rows_out.send(None)
    except BaseException as error:  # noqa: BLE001 (handed to the parent, which raises it)
        sender.send(RuntimeError(f"the seed's row generator failed: {error!r}"))
    finally:
        _close((sender, rows_out))


def _build_aside(path, aside, rows_in, built_out, unused):
    """The aside process: the search index and counters of the rows it is sent, into `path`."""
    _close(unused)
    try:
        scratch = _Aside(path, aside)
        while (batch := rows_in.recv()) is not None:
            scratch.add(batch[0], batch[1])
        scratch.finish()
        built_out.send(path)
    except BaseException as error:  # noqa: BLE001 (handed to the parent, which raises it)
        built_out.send(RuntimeError(f"the seed's search index and counters failed: {error!r}"))
    finally:
        _close((rows_in, built_out))


class _Aside:
    """The scratch database of _RowProcess: the FTS5 table and the counters' tables as the
    parent's schema defines them, and the enquiries' columns the counters read."""

    def __init__(self, path, aside):
        self.db = sqlite3.connect(path)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-131072", "temp_store=MEMORY"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, email TEXT, company TEXT)")
        for definition in aside["tables"]:
            self.db.execute(definition)
        columns = aside["enquiry_columns"]  # (name, declared type): the same affinities
        self.db.execute(f"CREATE TABLE enquiries ({', '.join(f'{n} {t}' for n, t in columns)})")
        self.positions = [ENQUIRY_COLUMNS.index(name) for name, _ in columns]
        self.insert = (f"INSERT INTO enquiries ({', '.join(n for n, _ in columns)}) "  # noqa: S608 (our names)
                       f"VALUES ({', '.join('?' for _ in columns)})")
        self.counters = aside["counters"]

    def add(self, contacts, enquiries):
        self.db.executemany("INSERT INTO contacts_search(rowid, name, email, company) VALUES (?, ?, ?, ?)",
                            [(c[0], c[2], c[1], c[3]) for c in contacts])
        positions = self.positions
        self.db.executemany(self.insert, [tuple(e[i] for i in positions) for e in enquiries])

    def finish(self):
        for statement in self.counters:
            self.db.execute(statement)
        self.db.commit()
        self.db.close()


def _batch_rows(time_, rng, offsets, first, now, managers, taken, tag, contact_id, enquiry_id, newest):
    """One batch of (contacts, enquiries) tuples; random columns are drawn for the whole batch
    at once (cheap)."""
    size = len(offsets)
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    drawn_statuses = rng.choices(statuses, weights, k=size)
    firsts, lasts = rng.choices(FIRST_NAMES, k=size), rng.choices(LAST_NAMES, k=size)
    parts = [rng.choices(part, k=size) for part in COMPANY_PARTS]
    countries = rng.choices(COUNTRIES, k=size)
    sectors, topics = rng.choices(list(SECTORS), k=size), rng.choices(list(TOPICS), k=size)
    sources = rng.choices(["form", "form", "form", "api", "manual"], k=size)
    priorities = rng.choices(["high", "normal", "low"], [15, 70, 15], k=size)
    messages = rng.choices(MESSAGES, k=size)
    domains = rng.choices(["example.com", "example.org", "example.net"], k=size)
    assignees = rng.choices(managers, k=size) if managers else [None] * size
    randoms = [rng.random() for _ in range(size)]
    today = now.date()
    contacts, enquiries = [], []
    for n in range(size):
        created = first + timedelta(seconds=offsets[n])
        age_days = (now - created).days
        r = randoms[n]
        # Recent enquiries are mostly new; old ones have mostly moved on.
        status = "new" if (age_days < 10 and r < 0.7) or offsets[n] == newest else drawn_statuses[n]
        if age_days > 180 and status not in CLOSED_STATUSES and r > 0.03:
            # Half a year on, nearly every enquiry has landed or been lost.
            status = "won" if offsets[n] % 4 == 0 else "lost"
        elif status == "new" and age_days > 30 and r > 0.02:
            status = "lost"
        open_ = status not in CLOSED_STATUSES
        assignee = assignees[n] if status != "new" or r < 0.5 else None
        due = _response_due(created)
        if status == "new" or (status == "spam" and r < 0.8):
            responded = None
        elif r < 0.85:  # most are answered on time, some late
            responded = created + (due - created) * rng.uniform(0.05, 0.95)
        else:
            responded = due + timedelta(hours=rng.randint(1, 120))
        if responded is not None and responded > now:
            responded = None
        q = rng.random()  # a second draw, for the spread of later dates
        activity_at = min(now, created + timedelta(seconds=q * 60 * 86400))
        closed = None if open_ else min(now, created + timedelta(seconds=(5 + q * 115) * 86400))
        project = status in PROJECT_STATUSES and r < 0.9
        planned_jobs = rng.randint(5, 200) if project else None
        planned_capex = rng.randint(1, 50) * 1_000_000 if project else None
        realised = status == "won" and r < 0.6
        bits = rng.getrandbits(40)
        reference = _reference(bits)
        while reference in taken:
            reference = _reference(rng.getrandbits(40))
        taken.add(reference)
        first_name, last_name = firsts[n], lasts[n]
        created_s, activity_s = time_(created), time_(activity_at)
        cid, eid = contact_id + n, enquiry_id + n
        contacts.append((
            cid, f"{_ascii(first_name)}.{_ascii(last_name)}.{tag}.{n}@{domains[n]}",
            f"{first_name} {last_name}", f"{parts[0][n]} {parts[1][n]} {parts[2][n]}",
            f"+45 {20 + n % 80} {10 + bits % 90} {10 + (bits >> 8) % 90} {10 + (bits >> 16) % 90}" if r < 0.6 else "",
            countries[n], created_s, created_s))
        enquiries.append((
            eid, reference, cid, sectors[n], topics[n], messages[n],
            "da" if countries[n] == "DK" and r < 0.5 else "en", sources[n], status,
            rng.choice(LOST_REASONS) if status == "lost" else None, assignee,
            (today + timedelta(days=int(q * 61) - 20)).isoformat()
            if open_ and assignee and r < 0.6 else None,
            time_(responded), time_(due), priorities[n], created_s, activity_s, activity_s,
            time_(closed), rng.choice(PROJECT_TYPES) if project else None,
            planned_jobs, int(planned_jobs * rng.uniform(0.3, 1.1)) if realised else None,
            planned_capex, int(planned_capex * rng.uniform(0.3, 1.1)) if realised else None))
    return contacts, enquiries


def _shaped(shape, contacts, enquiries):
    """A batch as _write_batch takes it: the rows shaped for the database (see
    _BulkWriter.shape), the first enquiry id and the number of enquiries."""
    return shape(contacts), shape(enquiries), enquiries[0][0], len(enquiries)


def _write_batch(writer, contacts, enquiries, enquiry_id, size, policy):
    writer.write("contacts", CONTACT_COLUMNS, contacts)
    writer.write("enquiries", ENQUIRY_COLUMNS, enquiries)
    # Consents and the timeline follow from the enquiries: built by the database, in one
    # statement each, rather than a million Python tuples.
    bounds = {"first": enquiry_id, "last": enquiry_id + size - 1}
    writer.connection.execute(sa.text(CONSENTS_FROM_ENQUIRIES),
                              {**bounds, **policy})
    json = "CAST({} AS JSON)" if writer.postgresql else "{}"
    writer.connection.execute(sa.text(ACTIVITIES_FROM_ENQUIRIES.format(details=json.format(ACTIVITY_DETAILS))), bounds)
