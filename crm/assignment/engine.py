"""Who should take an enquiry: continuity, then the first matching rule, then the lightest load.

`choose_assignee` only reads; the services in `crm.assignment.services` apply its choice. Callers
that act on the choice take `lock_choice()` first, in the same transaction, so that concurrent
submissions see each other's assignments and the load stays balanced.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from crm.assignment.models import AssignmentRule
from crm.dashboard.models import StatusCount
from crm.enquiries.models import CLOSED_STATUSES, STATUSES, Contact, Enquiry
from crm.extensions import db
from crm.staff.models import User

# Any constant will do: the one advisory lock that serialises assignment choices on PostgreSQL.
CHOICE_LOCK_KEY = 0x6372_6D07
OPEN_STATUSES = tuple(s for s in STATUSES if s not in CLOSED_STATUSES)
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Lead:
    """What the engine looks at: the enquiry's facts and the investor's email."""

    sector: str
    topic: str
    country: str
    language: str = "en"
    email: str | None = None

    @classmethod
    def of(cls, enquiry, returning=True):
        """`returning=False` for a contact seen for the first time: no continuity to look for."""
        return cls(sector=enquiry.sector, topic=enquiry.topic, country=enquiry.contact.country,
                   language=enquiry.language, email=enquiry.contact.email if returning else None)


@dataclass(frozen=True, eq=False)
class Staff:
    """A staff member as the engine sees them: plain values read in the choice's own query."""

    id: int
    email: str
    name: str
    sectors: list
    languages: list
    last_assigned_at: datetime | None

    def covers(self, sector):
        return not self.sectors or sector in self.sectors


@dataclass(frozen=True)
class Choice:
    """The engine's answer: `user` (a Staff; None when nobody is eligible) and why, as timeline
    details."""

    user: Staff | None
    reason: dict = field(default_factory=dict)


def today_local():
    """Today in CRM_TIMEZONE: away-until dates are the agency's calendar days."""
    zone = ZoneInfo(current_app.config.get("CRM_TIMEZONE", "Europe/Copenhagen"))
    return datetime.now(zone).date()


def is_present(user, today):
    return user.away_until is None or user.away_until < today


# The engine's statements are built once, on the tables (Core): on the submission path,
# building a SQLAlchemy statement, or loading ORM objects, costs more than running it.
@cache
def _statements():
    users, enquiries, contacts = User.__table__, Enquiry.__table__, Contact.__table__
    rules = AssignmentRule.__table__
    today = sa.bindparam("today", type_=sa.Date)
    staff = (users.c.id, users.c.email, users.c.name, users.c.sectors, users.c.languages,
             users.c.last_assigned_at)
    available = sa.and_(users.c.active.is_(True), users.c.password_hash.is_not(None),
                        sa.or_(users.c.away_until.is_(None), users.c.away_until < today))
    open_count = _open_sum(users.c.id).correlate(users).scalar_subquery()
    return SimpleNamespace(
        pg_lock=sa.select(sa.func.pg_advisory_xact_lock(CHOICE_LOCK_KEY)),
        sqlite_lock=sa.update(users).where(sa.false()).values(last_assigned_at=None),
        # The investor's open enquiries, newest first, each with its manager (if they can take work).
        continuity=(sa.select(*staff, enquiries.c.reference, available.label("available"))
                    .join_from(users, enquiries, enquiries.c.assignee_id == users.c.id)
                    .join(contacts, contacts.c.id == enquiries.c.contact_id)
                    .where(contacts.c.email == sa.bindparam("email"),
                           enquiries.c.status.not_in(CLOSED_STATUSES))
                    .order_by(enquiries.c.created_at.desc(), enquiries.c.id.desc())),
        # The enabled rules in order, each with the manager it names (if any, and available).
        rules=(sa.select(rules.c.id, rules.c.sectors, rules.c.topics, rules.c.countries,
                         rules.c.description, *staff, available.label("available"))
               .join_from(rules, users, users.c.id == rules.c.user_id, isouter=True)
               .where(rules.c.active.is_(True)).order_by(rules.c.priority, rules.c.id)),
        # The managers who can take work now, each with their open load, in one query.
        managers=sa.select(*staff, open_count).where(users.c.role == "manager", available),
    )


def _staff(row, offset=0):
    return Staff(*row[offset:offset + 6])


def lock_choice(written=False):
    """Serialise assignment choices until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, so only the choice waits, not the request.
    SQLite: a write that matches no row takes the database's single write lock, so the loads
    read next are the latest and stay so until commit; `written=True` (the caller's transaction
    has already written, so the lock is already held) skips it.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_statements().pg_lock)
    elif connection.dialect.name == "sqlite" and not written:
        connection.execute(_statements().sqlite_lock)


def choose_assignee(lead, *, today=None, exclude=()):
    """The person who should take `lead`, and the reason (see `describe_reason`).

    `exclude`: user ids that must not be chosen (a manager who is leaving).
    """
    today = today or today_local()
    exclude = set(exclude)
    skipped = []
    if db.session.autoflush:  # the reads below see this transaction's pending changes
        db.session.flush()
    connection = db.session.connection()
    statements = _statements()
    if lead.email:
        for row in connection.execute(statements.continuity, {"email": lead.email, "today": today}):
            if row.id not in exclude and row.available:
                return Choice(_staff(row), {"reason": "continuity", "enquiry": row.reference})
    for rule in connection.execute(statements.rules, {"today": today}):
        if not _matches(rule, lead):
            continue
        user_id = rule[5]  # the named manager's (rules.id is `rule.id`)
        if user_id is not None and user_id not in exclude and rule.available:
            return Choice(_staff(rule, 5), {"reason": "rule", "rule_id": rule.id, "rule": rule.description,
                                            **({"skipped": skipped} if skipped else {})})
        skipped.append(rule.id)
    choice = _by_load(lead, today, exclude)
    if skipped:
        choice.reason["skipped"] = skipped
    return choice


def _matches(rule, lead):
    """AssignmentRule.matches, on a row of the rules query."""
    return ((not rule.sectors or lead.sector in rule.sectors)
            and (not rule.topics or lead.topic in rule.topics)
            and (not rule.countries or lead.country in rule.countries))


def _available_managers(today, exclude):
    """{manager: open enquiries} of the managers who can take work now."""
    rows = db.session.connection().execute(_statements().managers, {"today": today})
    return {_staff(row): row[6] for row in rows if row.id not in exclude}


def _open_sum(assignee):
    """A user's open enquiries, read from the dashboard's totals (status × sector × assignee,
    kept by triggers in the transactions that change the enquiries, so as exact as a count):
    a few rows whatever the size. Counting the open enquiries themselves grew with them: 14 ms
    a submission on PostgreSQL at a million enquiries, 75,000 of them open."""
    totals = StatusCount.__table__
    # sum() of a BIGINT is NUMERIC on PostgreSQL: cast, so that loads stay ints (timeline JSON).
    return (sa.select(sa.cast(sa.func.coalesce(sa.func.sum(totals.c.n), 0), sa.BigInteger))
            .where(totals.c.assignee_id == assignee, totals.c.status.in_(OPEN_STATUSES)))


def open_loads(user_ids):
    """Open enquiries per user id."""
    totals = StatusCount.__table__
    if not user_ids:
        return {}
    rows = db.session.execute(
        sa.select(totals.c.assignee_id, sa.func.sum(totals.c.n))
        .where(totals.c.assignee_id.in_(user_ids), totals.c.status.in_(OPEN_STATUSES))
        .group_by(totals.c.assignee_id)
    ).all()
    return {user_id: 0 for user_id in user_ids} | {user_id: int(n) for user_id, n in rows}


def open_count(user_id):
    """One user's open enquiries."""
    return int(db.session.scalar(_open_sum(user_id)))


def speaks(user, language):
    return not user.languages or language in user.languages


def _by_load(lead, today, exclude):
    loads = _available_managers(today, exclude)
    if not loads:
        return Choice(None, {"reason": "nobody"})
    covering = [m for m in loads if m.covers(lead.sector)]
    pool = covering or list(loads)
    speaking = [m for m in pool if speaks(m, lead.language)]
    pool = speaking or pool
    fewest = min(loads[m] for m in pool)
    lightest = [m for m in pool if loads[m] == fewest]
    # Among equals, the one who waited longest since their last assignment: a fair round-robin.
    chosen = min(lightest, key=lambda m: (m.last_assigned_at or _NEVER, m.id))
    return Choice(chosen, {
        "reason": "load", "open": fewest, "pool": len(pool), "sector_covered": bool(covering),
        "language_matched": bool(speaking), "tie_break": len(lightest) > 1,
    })


def describe_reason(details, sector=None, language=None):
    """The reason of an assignment in words, for the timeline and the preview."""
    details = details or {}
    reason = details.get("reason")
    skipped = details.get("skipped")
    note = (f" (rule{'s' if len(skipped) > 1 else ''} {', '.join(f'#{i}' for i in skipped)} "
            "matched but named nobody who could take it)") if skipped else ""
    if reason == "continuity":
        return f"continuity: the investor's open enquiry {details.get('enquiry')} is theirs"
    if reason == "rule":
        description = details.get("rule") or ""
        return f"rule #{details.get('rule_id')}" + (f" ({description})" if description else "") + note
    if reason == "load":
        who = "managers covering the sector" if details.get("sector_covered") else \
            "available managers (nobody covers the sector)"
        if details.get("language_matched"):
            who += " who speak the enquiry's language"
        words = (f"lightest load: {details.get('open')} open "
                 f"{'enquiry' if details.get('open') == 1 else 'enquiries'}, "
                 f"the fewest among {details.get('pool')} {who}")
        if details.get("tie_break"):
            words += "; a tie, settled by who was assigned least recently"
        return words + note
    if reason == "nobody":
        return "no active, present manager could take it" + note
    if reason == "recorded":
        return "recorded by hand by a staff member"
    if reason == "manual":
        words = "by hand"
        if details.get("outside_sectors"):
            words += ", outside their sectors (confirmed)"
        return words
    if reason == "reassigned":
        engine = details.get("engine")
        return "moved from a leaving manager" + (f"; {describe_reason(engine)}" if engine else "")
    return ""

