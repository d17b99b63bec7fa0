"""The intake queue's second half: the worker stores what the fast path accepted.

With CRM_INTAKE_QUEUE on, `POST /api/v1/enquiries` answers 201 after one insert into `intake`
(crm.enquiries.intake_fast_path). `flask crm worker` then stores each row as the enquiry with its
contact, consent, assignment, timeline and emails (the same `_store` as every other entry) and
deletes the row, all in one transaction. The oldest due row is read `FOR UPDATE SKIP LOCKED` on
PostgreSQL, and the delete's row count decides at the end, so that two workers never store one
row twice (on SQLite the write lock serialises them and the later one finds the row gone). A row
that fails is kept, with its attempts and last error, and retried with backoff: never lost.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.enquiries.models import PendingIntake
from crm.enquiries.services import store_received_enquiry
from crm.extensions import db

log = logging.getLogger(__name__)

BATCH = 50
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600


def _never():
    return False


def retry_delay(attempts):
    """30 s after the first failure, doubling to an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY_SECONDS))


def _next_due(now):
    table = PendingIntake.__table__
    return (sa.select(table).where(table.c.next_attempt_at <= now).order_by(table.c.id).limit(1)
            .with_for_update(skip_locked=True))


def _delete(row_id):
    return sa.delete(PendingIntake.__table__).where(PendingIntake.__table__.c.id == row_id)


def store_pending(limit=BATCH, should_stop=_never, clock=utcnow):
    """Store up to `limit` due intake rows, one transaction each; returns how many were stored."""
    stored = 0
    for _ in range(limit):
        if should_stop():
            break
        # PostgreSQL: the row stays locked till the commit, and other workers skip it. SQLite:
        # the delete at the end decides (the write lock serialises workers); it comes last so
        # that the lock is held no longer than for a synchronous submission.
        received = db.session.execute(_next_due(clock())).first()
        if received is None:
            db.session.rollback()
            break
        try:
            store_received_enquiry(received)
            if db.session.execute(_delete(received.id)).rowcount != 1:
                db.session.rollback()  # stored by another worker, or erased meanwhile
                continue
            db.session.commit()
        except Exception as error:
            db.session.rollback()  # the row is back, untouched
            _keep_failed(received, error, clock())
            continue
        stored += 1
    return stored


def _keep_failed(received, error, now):
    # The error text can quote values (a constraint's key): it is personal data of the row,
    # exported and erased with it; the log names the reference only.
    attempts = received.attempts + 1
    kept = db.session.execute(
        sa.update(PendingIntake).where(PendingIntake.id == received.id).values(
            attempts=attempts, next_attempt_at=now + retry_delay(attempts),
            last_error=f"{type(error).__name__}: {getattr(error, 'orig', None) or error}"[:2000])
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if kept:
        log.error("intake %s not stored (attempt %d); kept for a retry", received.reference, attempts,
                  exc_info=error)
    else:  # another worker stored it first (SQLite: its write lock), or it was erased
        log.info("intake %s: stored or erased elsewhere", received.reference)


def queue_figures(clock=utcnow):
    """(pending rows, age in seconds of the oldest, rows that failed at least once), for /metrics."""
    count, oldest, failing = db.session.execute(sa.select(
        sa.func.count(PendingIntake.id), sa.func.min(PendingIntake.received_at),
        sa.func.count(PendingIntake.last_error))).one()
    if oldest is not None and oldest.tzinfo is None:  # an aggregate comes back untyped on SQLite
        oldest = _parse(oldest)
    return count, (clock() - oldest).total_seconds() if oldest else 0.0, failing


def _parse(value):
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


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
