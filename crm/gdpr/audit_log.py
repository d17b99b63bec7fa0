"""Reading the audit log: filters and keyset pages for /admin/audit and audit.csv."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.params import parse_int
from crm.extensions import db
from crm.gdpr.exports import Part, csv_stream, plain, text, utc
from crm.staff.models import User

PAGE_SIZE = 50


class AuditFiltersInvalid(ValueError):
    """A filter value this page does not know (the name of the filter)."""


def _positive_int(args, name):
    value = args.get(name, "")
    if not value:
        return None
    number = parse_int(value)
    if number is None:
        raise AuditFiltersInvalid(name)
    return number


def _day(args, name):
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AuditFiltersInvalid(name) from None


@dataclass(frozen=True)
class AuditFilters:
    actor: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: date | None = None
    until: date | None = None
    before: int | None = None

    @classmethod
    def from_args(cls, args):
        texts = {}
        for name, limit in (("action", 60), ("target_type", 30), ("target_id", 64)):
            value = args.get(name, "").strip()
            if len(value) > limit:
                raise AuditFiltersInvalid(name)
            texts[name] = value or None
        return cls(actor=_positive_int(args, "actor"), since=_day(args, "since"),
                   until=_day(args, "until"), before=_positive_int(args, "before"), **texts)

    def args(self, **changes):
        """The query arguments of these filters (for links), without empty ones."""
        values = {"actor": self.actor, "action": self.action, "target_type": self.target_type,
                  "target_id": self.target_id, "since": self.since, "until": self.until,
                  "before": self.before, **changes}
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()
                if v is not None}

    def where(self):
        clauses = []
        if self.actor:
            clauses.append(AuditLog.actor_id == self.actor)
        if self.action:
            clauses.append(AuditLog.action == self.action)
        if self.target_type:
            clauses.append(AuditLog.target_type == self.target_type)
        if self.target_id:
            clauses.append(AuditLog.target_id == self.target_id)
        if self.since:
            clauses.append(AuditLog.created_at >= datetime.combine(self.since, time(), UTC))
        if self.until:  # the whole day named
            clauses.append(AuditLog.created_at < datetime.combine(self.until + timedelta(days=1),
                                                                  time(), UTC))
        return clauses


COLUMNS = (AuditLog.id, AuditLog.created_at, AuditLog.actor_id, User.name, AuditLog.action,
           AuditLog.target_type, AuditLog.target_id, AuditLog.ip_address)
CSV_HEADER = ("id", "created_at", "actor_id", "actor", "action", "target_type", "target_id",
              "ip_address")


def _select(filters):
    return (sa.select(*COLUMNS).outerjoin(User, User.id == AuditLog.actor_id)
            .where(*filters.where()))


def audit_page(filters, per_page=PAGE_SIZE):
    """Newest first, keyset on the id: (rows, next_before), next_before None on the last page."""
    query = _select(filters).order_by(AuditLog.id.desc()).limit(per_page + 1)
    if filters.before:
        query = query.where(AuditLog.id < filters.before)
    rows = db.session.execute(query).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1].id if more else None)


def audit_log_csv(filters):
    """Every matching entry as streamed CSV bytes, oldest first (for audit.csv)."""
    part = Part(select=_select(filters), key=AuditLog.id, cells=(
        plain(AuditLog.id), utc(AuditLog.created_at, precise=True), plain(AuditLog.actor_id),
        text(User.name), text(AuditLog.action), text(AuditLog.target_type),
        text(AuditLog.target_id), text(AuditLog.ip_address)))
    return csv_stream(CSV_HEADER, part)


def audit_actors():
    return db.session.execute(sa.select(User.id, User.name).order_by(User.name)).all()
