"""What the intake queue holds (crm.enquiries.intake stores it): its figures for /metrics and
the admins, and a person's pending rows for the subject access export, erasure and consent
withdrawal. Queries only: the GDPR modules import this without the store path."""

from dataclasses import dataclass

import sqlalchemy as sa

from crm.core.db import UTCDateTime, utcnow
from crm.enquiries.models import PendingIntake
from crm.extensions import db


def queue_figures(clock=utcnow):
    """(pending rows, age in seconds of the oldest, rows that failed at least once), for /metrics."""
    # An aggregate comes back untyped on SQLite: typed as the column, it is an aware datetime.
    oldest_at = sa.type_coerce(sa.func.min(PendingIntake.received_at), UTCDateTime())
    count, oldest, failing = db.session.execute(sa.select(
        sa.func.count(PendingIntake.id), oldest_at, sa.func.count(PendingIntake.last_error))).one()
    return count, (clock() - oldest).total_seconds() if oldest else 0.0, failing


@dataclass(frozen=True)
class IntakeSummary:
    pending: int
    oldest_age_seconds: float
    failing: list  # PendingIntake rows that failed at least once, oldest first


def intake_summary(limit=50):
    """What admins see of the queue on /admin/outbox: how many wait, and the failing rows."""
    pending, oldest_age, _ = queue_figures()
    failing = db.session.scalars(
        sa.select(PendingIntake).where(PendingIntake.last_error.is_not(None))
        .order_by(PendingIntake.id).limit(limit)).all() if pending else []
    return IntakeSummary(pending, oldest_age, failing)


def pending_for(email):
    """The rows of the person with `email` (subject access export)."""
    return db.session.scalars(
        sa.select(PendingIntake).where(sa.func.lower(PendingIntake.email) == email.lower())
        .order_by(PendingIntake.id)).all()


def delete_pending_for(email):
    """Delete the person's rows (erasure, consent withdrawal); no commit. Returns how many."""
    return db.session.execute(
        sa.delete(PendingIntake).where(sa.func.lower(PendingIntake.email) == email.lower())
        .execution_options(synchronize_session=False)).rowcount


def received_before(moment):
    """Rows received before `moment` (retention): the condition for counting and deleting them."""
    return PendingIntake.received_at < moment


def delete_received_before(moment):
    """Delete the rows received before `moment` (retention's purge); no commit. Returns how many."""
    return db.session.execute(
        sa.delete(PendingIntake).where(received_before(moment))
        .execution_options(synchronize_session=False)).rowcount
