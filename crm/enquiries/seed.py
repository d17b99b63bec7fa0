"""Synthetic demo data: staff (Helena Peyron among them) and realistic enquiries, in bulk.

Every prospect and company here is fictional; addresses use reserved `.example` domains.
"""

import json
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from crm.core.db import UTCDateTime, utcnow
from crm.enquiries.models import Activity, Consent, Contact, Enquiry
from crm.enquiries.options import SECTORS, TOPICS
from crm.enquiries.policy import current_policy
from crm.enquiries.references import new_reference
from crm.extensions import db
from crm.staff.models import User
from crm.staff.passwords import hash_password
from crm.triage.calendar import response_due

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
STATUS_WEIGHTS = {"new": 8, "contacted": 14, "qualified": 10, "meeting": 8, "proposal": 5,
                  "won": 6, "lost": 12, "spam": 2}
LOST_REASONS = ["Chose another location", "Project cancelled", "No budget this year",
                "Not a life-science project"]
BATCH = 10000


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
    db.session.commit()
    return logins


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


def _sqlite_converter(column_type):
    """How SQLAlchemy would store a value of this type on SQLite: naive UTC text with
    microseconds for times, ISO dates, JSON text; None when the driver takes it as it is."""
    if isinstance(column_type, UTCDateTime):
        return lambda v: v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(column_type, sa.Date):
        return date.isoformat
    if isinstance(column_type, sa.JSON):
        return json.dumps
    return None


def bulk_insert(table, rows):
    """Insert many rows of one shape straight through the driver: COPY on PostgreSQL, executemany
    on SQLite. Several times faster than going through SQLAlchemy's per-value type processing;
    only for trusted, already-shaped rows such as demo data."""
    if not rows:
        return
    columns = list(rows[0])
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row.values()])
        return
    converters = [(column, _sqlite_converter(table.c[column].type)) for column in columns]
    converted = [
        tuple(convert(row[column]) if convert and row[column] is not None else row[column]
              for column, convert in converters)
        for row in rows
    ]
    placeholders = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608 (our names)
        converted,
    )


def _insert_and_read_ids(model, rows, key):
    """bulk_insert `rows`, then map each row's unique `key` to its new id."""
    before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(model.id), 0)))
    bulk_insert(model.__table__, rows)
    return dict(db.session.execute(sa.select(getattr(model, key), model.id).where(model.id > before)).all())


def _company(rng):
    first, second, form = COMPANY_PARTS
    return f"{rng.choice(first)} {rng.choice(second)} {rng.choice(form)}"


def seed_demo(count, seed=None):
    """Demo staff plus `count` enquiries with contacts, consents and timelines, spread over two
    years. Rows go in BATCH at a time through bulk_insert; nothing is queued for email."""
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    result = SeedResult(logins=seed_staff())
    save_demo_logins(result.logins)
    managers = db.session.scalars(sa.select(User).where(User.role == "manager")).all()
    policy = current_policy()
    taken = set(db.session.scalars(sa.select(Enquiry.reference)))
    run = secrets.token_hex(3)
    now = utcnow()
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        contacts, enquiries = [], []
        for i in range(offset, offset + size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            created = now - timedelta(seconds=rng.randint(0, 730 * 86400))
            contacts.append({
                "email": f"prospect.{run}.{i}@{rng.choice(['example.com', 'example.org', 'example.net'])}",
                "name": f"{first} {last}", "company": _company(rng),
                "phone": f"+45 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
                         f"{rng.randint(10, 99)}" if rng.random() < 0.6 else "",
                "country": rng.choice(COUNTRIES), "created_at": created, "updated_at": created,
            })
            reference = new_reference()
            while reference in taken:
                reference = new_reference()
            taken.add(reference)
            age_days = (now - created).days
            # Old enquiries have mostly moved on; recent ones are mostly new.
            status = "new" if age_days < 7 and rng.random() < 0.7 else rng.choices(statuses, weights)[0]
            open_ = status not in ("won", "lost", "spam")
            assignee = rng.choice(managers).id if managers and (status != "new" or rng.random() < 0.5) else None
            enquiries.append({
                "reference": reference, "sector": rng.choice(list(SECTORS)),
                "topic": rng.choice(list(TOPICS)), "message": rng.choice(MESSAGES),
                "language": "da" if contacts[-1]["country"] == "DK" and rng.random() < 0.5 else "en",
                "source": rng.choice(["form", "form", "form", "api", "manual"]),
                "status": status, "lost_reason": rng.choice(LOST_REASONS) if status == "lost" else None,
                "assignee_id": assignee, "created_at": created, "updated_at": created,
                "last_activity_at": created + timedelta(days=min(age_days, rng.randint(0, 60))),
                "closed_at": created + timedelta(days=min(age_days, rng.randint(5, 120))) if not open_ else None,
                "first_response_at": created + timedelta(hours=rng.randint(1, 96)) if status != "new" else None,
                "response_due_at": response_due(created),
                "next_follow_up_on": (now + timedelta(days=rng.randint(-20, 40))).date()
                if open_ and assignee and rng.random() < 0.6 else None,
                "planned_jobs": rng.randint(5, 200) if status in ("proposal", "won") else None,
                "planned_capex_eur": rng.randint(1, 50) * 1_000_000 if status in ("proposal", "won") else None,
            })
        # The new ids are read back by their unique keys from the rows past the previous maximum
        # id (a range scan, not a 10,000-item IN list); rows others add meanwhile are ignored.
        contact_ids = _insert_and_read_ids(Contact, contacts, "email")
        for row, contact in zip(enquiries, contacts, strict=True):
            row["contact_id"] = contact_ids[contact["email"]]
        enquiry_ids = _insert_and_read_ids(Enquiry, enquiries, "reference")
        consents, activities = [], []
        for row in enquiries:
            enquiry_id = enquiry_ids[row["reference"]]
            method = row["source"] if row["source"] != "manual" else "manual"
            consents.append({
                "contact_id": row["contact_id"], "enquiry_id": enquiry_id,
                "policy_version": policy.version, "policy_sha256": policy.sha256, "method": method,
                "lawful_basis": "consent", "purpose": "enquiry_handling",
                "evidence": "Consent given by phone, noted by the manager" if method == "manual" else None,
                "given_at": row["created_at"],
                "ip_address": None if method == "manual" else f"192.0.2.{rng.randint(1, 254)}",
                "user_agent": None if method == "manual" else "Mozilla/5.0 (demo data)",
            })
            activities.append({"enquiry_id": enquiry_id, "kind": "created", "actor_id": None,
                               "details": {"source": row["source"]},
                               "created_at": row["created_at"]})
            if row["status"] != "new":
                activities.append({
                    "enquiry_id": enquiry_id, "kind": "status_changed", "actor_id": row["assignee_id"],
                    "details": {"from": "new", "to": row["status"]}, "created_at": row["last_activity_at"],
                })
        bulk_insert(Consent.__table__, consents)
        bulk_insert(Activity.__table__, activities)
        db.session.commit()
        result.enquiries += size
    result.seconds = time.perf_counter() - started
    current_app.logger.info("seeded %s enquiries in %.1f s", result.enquiries, result.seconds)
    return result
