"""Synthetic demo data: staff (Helena Peyron among them) and realistic enquiries, in bulk.

Every prospect and company here is fictional; addresses use reserved `.example` domains.
"""

import functools
import os
import random
import secrets
import sqlite3
import tempfile
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
BULK_FROM = 50_000  # a load this large drops its indexes and triggers, and builds them once


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
    again at the end (one sort, one FTS build, one GROUP BY per counter, instead of a million
    random inserts), and on SQLite there is no fsync and no foreign-key lookup while the rows
    go in (they are consistent by construction). Yields an _AsideBuild: on SQLite, the search
    index and the counters are built by a second connection in a thread while this one writes
    the enquiries and builds the indexes. The indexes and the connection's usual settings come
    back even if the load fails."""
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
    aside = _AsideBuild(connection if search else None)
    failed = False
    try:
        yield aside
    except BaseException:
        failed = True
        raise
    finally:
        connection.rollback()
        if failed:
            aside.cancel()
        for _, definition in indexes:
            connection.exec_driver_sql(definition)
        built = aside.wait()
        if built:
            _copy_aside(connection, aside.path)
        elif indexes:  # the counters the triggers did not keep: one GROUP BY each
            if not sqlite:
                connection.exec_driver_sql("ALTER TABLE enquiries ENABLE TRIGGER USER")
            counters.rebuild(connection)
        if search and not built:
            connection.exec_driver_sql("INSERT INTO contacts_search(contacts_search) VALUES ('rebuild')")
        if indexes and sqlite:  # fresh statistics, so that the planner knows which index is selective
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
        connection.commit()
        if indexes and not sqlite:
            # VACUUM as well as ANALYZE: freshly loaded tables have no visibility map, so every
            # index-only scan (the managers' open loads on the enquiry page) read the table
            # too, 117 ms instead of 14 at a million. VACUUM runs outside a transaction.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql(f"VACUUM ANALYZE {', '.join(BULK_TABLES)}")
        if sqlite:
            for pragma in ("synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536", "temp_store=DEFAULT"):
                connection.exec_driver_sql(f"PRAGMA {pragma}")
        aside.remove()
        if built:  # FTS5 caches an index's structure per connection: this one is not reused
            connection.invalidate()


SEARCH_SHADOW_TABLES = ("contacts_search_data", "contacts_search_idx", "contacts_search_docsize")


class _AsideBuild:
    """On SQLite, a second connection in a thread, on a scratch SQLite file, takes what it can
    of the load off the seed's connection: it makes the contacts (the same statements, into a
    copy of the contacts table), which the seed then copies in one `INSERT … SELECT *`
    (`copy_contacts`, after the enquiries, and commits), and then, reading the committed rows
    through ATTACH (WAL allows it while the seed's connection goes on writing), it builds
    the FTS5 search index of every contact and the dashboard counters of every enquiry, with
    the very table definitions and rebuild statements of the seeded database; _copy_aside
    then copies those tables. sqlite3 releases the GIL while a statement runs, so both cores
    work. Without a connection (PostgreSQL, a small seed) it does nothing and the seed makes
    its contacts itself."""

    def __init__(self, connection):
        self.path = self.thread = self.error = None
        self.contacts_made, self.rows_in = threading.Event(), threading.Event()
        self.cancelled = False
        if connection is None:
            return
        self.source = connection.exec_driver_sql("PRAGMA database_list").all()[0][2]
        if not self.source:  # an in-memory database: nothing to read it through
            return
        names = ("contacts", "contacts_search", *_counter_tables())
        marks = ", ".join("?" for _ in names)
        self.tables = [sql for (sql,) in connection.exec_driver_sql(
            f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names)]  # noqa: S608
        handle, self.path = tempfile.mkstemp(prefix="crm-seed-aside-", suffix=".sqlite3")
        os.close(handle)

    def make_contacts(self, draws):
        """Start making the contacts of `draws` aside; False if there is no scratch file."""
        if self.path and self.thread is None:
            statements = [draws.table(contacts_only=True), draws.contacts()]
            self.thread = threading.Thread(target=self._build, args=(statements,), name="crm-seed-aside", daemon=True)
            self.thread.start()
        return self.thread is not None

    def copy_contacts(self, connection, draws):
        """The contacts made aside, into the seeded database (or made here if that failed)."""
        self.contacts_made.wait()
        if self.error is not None:
            connection.execute(sa.text(draws.contacts()))
            return
        connection.commit()  # ATTACH is not allowed inside a transaction
        connection.exec_driver_sql("ATTACH DATABASE ? AS aside", (self.path,))
        connection.exec_driver_sql("INSERT INTO main.contacts SELECT * FROM aside.contacts")
        connection.commit()  # with the enquiries: all that the search index and counters read
        connection.exec_driver_sql("DETACH DATABASE aside")
        self.rows_in.set()

    def cancel(self):
        self.cancelled = True
        self.rows_in.set()

    def _build(self, statements):
        try:
            scratch = sqlite3.connect(self.path, isolation_level=None)
            try:
                for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-131072", "temp_store=MEMORY"):
                    scratch.execute(f"PRAGMA {pragma}")
                scratch.execute("BEGIN")
                for definition in self.tables:
                    scratch.execute(definition)
                for statement in statements:
                    scratch.execute(statement)
                scratch.execute("COMMIT")
                self.contacts_made.set()
                self.rows_in.wait()
                if self.cancelled:
                    raise RuntimeError("the seed failed")
                scratch.execute("ATTACH DATABASE ? AS seeded", (self.source,))
                scratch.execute("BEGIN")
                scratch.execute("INSERT INTO main.contacts_search(rowid, name, email, company) "
                                "SELECT id, name, email, company FROM seeded.contacts")
                # Unqualified, `enquiries` is the seeded one and the counters are the scratch's.
                for statement in counters.rebuild_statements("sqlite"):
                    scratch.execute(statement)
                scratch.execute("COMMIT")
            finally:
                scratch.close()
        except Exception as error:  # noqa: BLE001 (the seed then builds them itself)
            self.error = error
        finally:
            self.contacts_made.set()

    def wait(self):
        """True once the scratch file is built; False if there is none or it failed (logged)."""
        if self.thread is None:
            return False
        self.rows_in.set()  # in case the seed never said so: it ends here
        self.thread.join()
        if self.error is not None and not self.cancelled:
            current_app.logger.error("the seed's search index and counters were not built aside: %r", self.error)
        return self.error is None

    def remove(self):
        if self.path:
            Path(self.path).unlink(missing_ok=True)


def _counter_tables():
    return [c.table for c in counters.COUNTERS]


def _copy_aside(connection, path):
    """The search index and the counters as _AsideBuild made them in the scratch file `path`:
    their tables are copied as they are, instead of a FTS 'rebuild' here (which would tokenise
    every contact again) and a GROUP BY per counter."""
    connection.exec_driver_sql("ATTACH DATABASE ? AS aside", (path,))
    for table in (*SEARCH_SHADOW_TABLES, *_counter_tables()):
        connection.exec_driver_sql(f"DELETE FROM main.{table}")  # noqa: S608 (our names)
        connection.exec_driver_sql(f"INSERT INTO main.{table} SELECT * FROM aside.{table}")  # noqa: S608
    connection.commit()
    connection.exec_driver_sql("DETACH DATABASE aside")


def seed_demo(count, seed=None):
    """Demo staff plus `count` enquiries with contacts, consents and one timeline entry each,
    spread over five years: statuses, managers, follow-ups, first responses (mostly on time),
    response targets, priorities, lost reasons and project facts. The database draws the rows
    itself (see _Draws); nothing is queued for email."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    result = SeedResult(logins=seed_staff())
    save_demo_logins(result.logins)
    managers = list(db.session.scalars(sa.select(User.id).where(User.role == "manager")))
    policy = current_policy()
    policy = {"version": policy.version, "sha256": policy.sha256}  # plain values: no reload after commit
    now = utcnow()
    db.session.commit()
    if count <= 0:
        result.seconds = time.perf_counter() - started
        return result
    # A connection of its own: the load settings of _bulk_load stay on it.
    with db.engine.connect() as connection, _bulk_load(connection, count) as aside:
        draws = _Draws(connection, count, rng, now, managers)
        contacts_aside = aside.make_contacts(draws)
        connection.execute(sa.text(draws.table()))
        while draws.enquiry_id > 1 and connection.execute(sa.text(draws.clash())).first():
            connection.execute(sa.text(draws.rekey()))  # one the product drew at random: rare
        if not contacts_aside:
            connection.execute(sa.text(draws.contacts()))
        connection.execute(sa.text(draws.enquiries()))
        if contacts_aside:  # after their enquiries: no foreign-key checks during a bulk load
            aside.copy_contacts(connection, draws)
        bounds = {"first": draws.enquiry_id, "last": draws.enquiry_id + count - 1}
        # Consents and the timeline follow from the enquiries, one statement each.
        connection.execute(sa.text(CONSENTS_FROM_ENQUIRIES), {**bounds, **policy})
        json = "CAST({} AS JSON)" if draws.postgresql else "{}"
        connection.execute(sa.text(ACTIVITIES_FROM_ENQUIRIES.format(details=json.format(ACTIVITY_DETAILS))), bounds)
        connection.exec_driver_sql("DROP TABLE seed_draws")
        if draws.postgresql:  # the rows have explicit ids
            for table in ("contacts", "enquiries"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        connection.commit()
        result.enquiries = count
    result.seconds = time.perf_counter() - started
    current_app.logger.info("seeded %s enquiries in %.1f s", result.enquiries, result.seconds)
    return result


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

@functools.cache
def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("'", "") or "x"


# --- The rows, drawn by the database ----------------------------------------------------------

LEHMER = 2_147_483_647  # 2^31 - 1: x -> x * m mod LEHMER stays far below 2^63 on both databases
STREAMS = {"a": 48271, "b": 16807, "c": 69621, "d": 39373, "e": 742938285, "f": 950706376}
MICROS_PER_DAY = 86_400_000_000
PRIORITY_WEIGHTS = {"high": 15, "normal": 70, "low": 15}
SOURCES = ["form", "form", "form", "api", "manual"]
DOMAINS = ["example.com", "example.org", "example.net"]
REFERENCE_BITS = 40  # the reference's 40-bit bijection (see _Draws.reference)


def _reference_key(rng):
    """Two odd multipliers and an offset, drawn per seed: without them one demo reference does
    not tell another (the contract's "not guessable"), and a seed still gives the same rows."""
    return rng.getrandbits(REFERENCE_BITS) | 1, rng.getrandbits(REFERENCE_BITS) | 1, rng.getrandbits(REFERENCE_BITS)


def _literal(value):
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def _pick(values, draw):
    """SQL for values[draw] (draw in 0 .. len(values) - 1)."""
    return f"CASE {draw} " + " ".join(f"WHEN {i} THEN {_literal(v)}" for i, v in enumerate(values)) + " END"


def _weighted(weights, draw):
    """SQL for a key of `weights` chosen by draw in 0 .. sum - 1."""
    cases, total = [], 0
    for value, weight in weights.items():
        total += weight
        cases.append(f"WHEN {draw} < {total} THEN {_literal(value)}")
    return "CASE " + " ".join(cases) + " END"


def _digits(stream, *sizes):
    """Independent-enough draws from one 31-bit stream value: its digits in a mixed radix."""
    draws, radix = [], 1
    for size in sizes:
        draws.append(f"({stream} / {radix} % {size})")
        radix *= size
    assert radix < LEHMER // 8, "too many digits for one stream value"
    return draws


class _Draws:
    """The seed's rows as SQL: a temporary table `seed_draws` of per-row draws (six Lehmer
    streams carried by a recursive CTE, started from `rng`, so a seed gives the same rows on
    both databases), then one INSERT … SELECT each for the contacts and the enquiries.

    Row n is received at `first + n·slot + jitter` (ids grow with time), and the statuses follow
    age as an agency's do: recent enquiries are mostly new, those older than half a year nearly
    all won or lost. Times are integers of microseconds since 1970 until they are written."""

    def __init__(self, connection, count, rng, now, managers):
        self.postgresql = connection.dialect.name == "postgresql"
        self.count = count
        self.starts = {name: rng.randrange(1, LEHMER) for name in STREAMS}
        self.now = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        self.today = now.date().isoformat()
        span = YEARS * 365 * MICROS_PER_DAY
        self.first, self.slot = self.now - span, span // count
        self.managers = managers
        *self.key, self.offset = _reference_key(rng)
        next_id = "SELECT coalesce(max(id), 0) + 1 FROM {}"
        self.contact_id = connection.exec_driver_sql(next_id.format("contacts")).scalar()
        self.enquiry_id = connection.exec_driver_sql(next_id.format("enquiries")).scalar()

    def time(self, micros):
        """A time column's value, as SQLAlchemy writes it on this database."""
        if self.postgresql:
            return f"TIMESTAMPTZ 'epoch' + ({micros}) * INTERVAL '1 microsecond'"
        return f"datetime(({micros}) / 1000000, 'unixepoch') || '.' || substr(1000000 + ({micros}) % 1000000, 2)"

    def day(self, days_from_today):
        if self.postgresql:
            return f"DATE '{self.today}' + CAST({days_from_today} AS INTEGER)"
        return f"date('{self.today}', ({days_from_today}) || ' days')"

    def reference(self, number):
        """`AAL-XXXX-XXXX` from a bijection of 40-bit numbers (multiply, swap the 20-bit halves,
        multiply): distinct ids give distinct references, which look random. Products stay
        below 2^62: the multipliers go in 20-bit halves."""
        first, second = self.key
        offset = self.offset

        def times(x, multiplier):  # x · multiplier mod 2^40
            high, low = multiplier >> 20, multiplier & 0xFFFFF
            return f"((({x}) * {high} % 1048576) * 1048576 + ({x}) * {low}) % 1099511627776"

        y = f"({times(number, first)} + {offset})"
        swapped = f"(({y}) % 1099511627776 / 1048576 + ({y}) % 1048576 * 1048576)"
        return times(swapped, second)

    def reference_text(self):
        return "'AAL-' || " + " || ".join(
            f"substr('{ALPHABET}', CAST((reference_bits >> {shift}) & 31 AS INTEGER) + 1, 1)"
            + (" || '-'" if shift == 20 else "") for shift in range(35, -1, -5))

    def clash(self):
        """A drawn reference that the table has already (the seed's own are distinct)."""
        return f"SELECT 1 FROM enquiries WHERE reference IN (SELECT {self.reference_text()} FROM seed_draws) LIMIT 1"  # noqa: S608

    def rekey(self):
        self.offset += 1
        return f"UPDATE seed_draws SET reference_bits = {self.reference(f'{self.enquiry_id} + n')}"  # noqa: S608

    # Which digits of which stream each column takes: a for the contact, b for r and q, c d e
    # for the enquiry, f for the phone number and the time of receipt.
    def _a(self):
        return _digits("a", len(FIRST_NAMES), len(LAST_NAMES), len(DOMAINS), *map(len, COMPANY_PARTS),
                       len(COUNTRIES))

    def _c(self):
        return _digits("c", sum(STATUS_WEIGHTS.values()), len(SECTORS), len(TOPICS), len(SOURCES),
                       sum(PRIORITY_WEIGHTS.values()), len(MESSAGES))

    def _d(self):
        return _digits("d", 900, 120, len(LOST_REASONS), len(PROJECT_TYPES), max(len(self.managers), 1))

    def table(self, contacts_only=False):
        """The per-row draws and what follows from them: the temporary table `seed_draws`
        (only what the contacts read, for the aside connection that makes them)."""
        start = ", ".join(f"CAST({self.starts[name]} AS BIGINT)" for name in STREAMS)
        step = ", ".join(f"{name} * {m} % {LEHMER}" for name, m in STREAMS.items())
        status_draw = self._c()[0]
        answer_share, late_hours = self._d()[:2]
        closed = ", ".join(_literal(s) for s in CLOSED_STATUSES)
        weekday = f"((t / {MICROS_PER_DAY} + 3) % 7)"  # Monday 0: 1 January 1970 was a Thursday
        day = MICROS_PER_DAY
        # r and q: two uniform draws in 0 .. 9999, as the shares of a row's fate and dates.
        timed = f"""CREATE TEMP TABLE seed_draws AS
WITH RECURSIVE streams (n, {", ".join(STREAMS)}) AS (
  SELECT CAST(0 AS BIGINT), {start}
  UNION ALL SELECT n + 1, {step} FROM streams WHERE n + 1 < {self.count}
), timed AS (
  SELECT n, a, c, d, e, f, b % 10000 AS r, b / 10000 % 10000 AS q,
         {self.first} + n * {self.slot} + (f * {LEHMER} + b) % {self.slot} AS t
  FROM streams
)"""  # noqa: S608 (numbers and our own words only)
        if contacts_only:
            return f"{timed} SELECT n, t, a, r, f FROM timed"  # noqa: S608
        return timed + f""", drawn AS MATERIALIZED (  -- computed once: read several times below
  SELECT timed.*, ({self.now} - t) / {day} AS age,
         CASE WHEN (({self.now} - t) / {day} < 10 AND r < 7000) OR n = {self.count - 1} THEN 'new'
              ELSE {_weighted(STATUS_WEIGHTS, status_draw)} END AS drawn_status
  FROM timed
), settled AS MATERIALIZED (
  SELECT drawn.*,
         CASE WHEN age > 180 AND drawn_status NOT IN ({closed}) AND r >= 300  -- half a year on
                THEN CASE WHEN n % 4 = 0 THEN 'won' ELSE 'lost' END
              WHEN drawn_status = 'new' AND age > 30 AND r >= 200 THEN 'lost'
              ELSE drawn_status END AS status,
         CASE WHEN {weekday} >= 5 THEN (t / {day} + 9 - {weekday}) * {day}  -- a weekend's: end of Tuesday
              ELSE t + CASE WHEN {weekday} <= 2 THEN 2 ELSE 4 END * {day} END AS due  -- two working days
  FROM drawn
), answered AS (
  SELECT settled.*,
         CASE WHEN status = 'new' OR (status = 'spam' AND r < 8000) THEN NULL
              WHEN r < 8500 THEN t + (due - t) * (50 + {answer_share}) / 1000  -- most on time
              ELSE due + (1 + {late_hours}) * 3600000000 END AS answered_at
  FROM settled
)
SELECT n, t, a, c, d, e, f, r, q, status, due,
       CASE WHEN answered_at <= {self.now} THEN answered_at END AS answered_at,
       CASE WHEN t + q * 518400000 < {self.now} THEN t + q * 518400000 ELSE {self.now} END AS active_at,
       CASE WHEN status IN ({closed}) THEN CASE WHEN t + 5 * {day} + q * 115 * 8640000 < {self.now}
            THEN t + 5 * {day} + q * 115 * 8640000 ELSE {self.now} END END AS closed_at,
       {self.reference(f"{self.enquiry_id} + n")} AS reference_bits
FROM answered"""  # noqa: S608

    def contacts(self):
        first_name, last_name, domain, part0, part1, part2, country = self._a()
        phone = _digits("f", 90, 90, 90)
        ascii_first = _pick([_ascii(name) for name in FIRST_NAMES], first_name)
        ascii_last = _pick([_ascii(name) for name in LAST_NAMES], last_name)
        contact = f"{self.contact_id} + n"
        return f"""INSERT INTO contacts (id, email, name, company, phone, country, created_at, updated_at)
SELECT {contact},
       {ascii_first} || '.' || {ascii_last} || '.' || ({contact}) || '@' || {_pick(DOMAINS, domain)},
       {_pick(FIRST_NAMES, first_name)} || ' ' || {_pick(LAST_NAMES, last_name)},
       {_pick(COMPANY_PARTS[0], part0)} || ' ' || {_pick(COMPANY_PARTS[1], part1)} || ' '
         || {_pick(COMPANY_PARTS[2], part2)},
       CASE WHEN r < 6000 THEN '+45 ' || (20 + n % 80) || ' ' || (10 + {phone[0]}) || ' ' || (10 + {phone[1]})
         || ' ' || (10 + {phone[2]}) ELSE '' END,
       {_pick(COUNTRIES, country)}, {self.time("t")}, {self.time("t")}
FROM seed_draws"""  # noqa: S608

    def enquiries(self):
        *_, country = self._a()
        _, sector, topic, source, priority, message = self._c()
        *_, lost_reason, project_type, manager = self._d()
        jobs, capex, jobs_share, capex_share = _digits("e", 196, 50, 80, 80)
        closed = ", ".join(_literal(s) for s in CLOSED_STATUSES)
        contact = f"{self.contact_id} + n"
        assignee = (f"CASE WHEN status <> 'new' OR r < 5000 THEN {_pick(self.managers, manager)} END"
                    if self.managers else "NULL")
        project = f"status IN ({', '.join(_literal(s) for s in sorted(PROJECT_STATUSES))}) AND r < 9000"
        realised = "status = 'won' AND r < 6000"
        planned_jobs, planned_capex = f"(5 + {jobs})", f"(1 + {capex}) * 1000000"
        return f"""INSERT INTO enquiries (id, reference, contact_id, sector, topic, message, language, source,
  status, lost_reason, assignee_id, next_follow_up_on, first_response_at, response_due_at, priority, created_at,
  updated_at, last_activity_at, closed_at, project_type, planned_jobs, realised_jobs, planned_capex_eur,
  realised_capex_eur)
SELECT id, {self.reference_text()}, {contact}, {_pick(list(SECTORS), sector)}, {_pick(list(TOPICS), topic)},
       {_pick(MESSAGES, message)},
       CASE WHEN {_pick(COUNTRIES, country)} = 'DK' AND r < 5000 THEN 'da' ELSE 'en' END,
       {_pick(SOURCES, source)}, status,
       CASE WHEN status = 'lost' THEN {_pick(LOST_REASONS, lost_reason)} END, assignee_id,
       CASE WHEN status NOT IN ({closed}) AND assignee_id IS NOT NULL AND r < 6000
            THEN {self.day("q * 61 / 10000 - 20")} END,
       {self.time("answered_at")}, {self.time("due")}, {_weighted(PRIORITY_WEIGHTS, priority)},
       {self.time("t")}, {self.time("active_at")}, {self.time("active_at")}, {self.time("closed_at")},
       CASE WHEN {project} THEN {_pick(PROJECT_TYPES, project_type)} END,
       CASE WHEN {project} THEN {planned_jobs} END,
       CASE WHEN {project} AND {realised} THEN {planned_jobs} * (30 + {jobs_share}) / 100 END,
       CASE WHEN {project} THEN {planned_capex} END,
       CASE WHEN {project} AND {realised} THEN {planned_capex} * (30 + {capex_share}) / 100 END
FROM (SELECT seed_draws.*, {self.enquiry_id} + n AS id, {assignee} AS assignee_id FROM seed_draws) AS rows"""  # noqa: S608
