"""The intake queue's second half: the worker stores what the fast path accepted.

With CRM_INTAKE_QUEUE on, `POST /api/v1/enquiries` answers 201 after one insert into `intake`
(crm.enquiries.intake_fast_path). `flask crm worker` then stores each row as the enquiry with its
contact, consent, assignment, timeline and emails (the same `_store` as every other entry) and
deletes the row in the same transaction.

On PostgreSQL a transaction claims up to PER_TRANSACTION due rows at once (`FOR UPDATE SKIP
LOCKED`: other workers skip them), stores them all, deletes them in one statement and commits
once: one claim, one delete and one commit per batch instead of per row (docs/performance.md).
If any row of the batch fails, the whole batch is rolled back and its rows are stored again one
transaction each, so that the failing row alone is kept, with its attempts and last error, and
retried with backoff: never lost; the others are stored. No savepoints: they would cost two
round trips a row to save work only when a row fails, which is rare.

On SQLite a transaction stores one row: it holds the main file's write lock from its first
write to its commit, and takes the intake file's (crm.enquiries.intake_file) only for the delete
at the end, so the fast path's inserts never wait for a whole store. The delete's row count
decides whether this worker stored the row (the write lock serialises workers, and the later
one finds the row gone). The two files commit one after the other: a row left behind by a crash
between them is recognised by its enquiry and deleted (`_stored_before`).
"""

import logging
from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.enquiries.models import Contact, Enquiry, PendingIntake
from crm.enquiries.services import store_received_enquiry
from crm.extensions import db

log = logging.getLogger(__name__)

BATCH = 50  # rows per call (a worker round; it then turns to the mail)
PER_TRANSACTION = {"postgresql": 50}  # rows per transaction; 1 elsewhere (SQLite: the write lock)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600


def _never():
    return False


def retry_delay(attempts):
    """30 s after the first failure, doubling to an hour."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY_SECONDS))


def _claim(now, limit, row_id=None):
    # Served by the primary key: ids grow with time, so the oldest rows come first.
    table = PendingIntake.__table__
    query = sa.select(table).where(table.c.next_attempt_at <= now)
    if row_id is not None:
        query = query.where(table.c.id == row_id)
    return db.session.execute(query.order_by(table.c.id).limit(limit).with_for_update(skip_locked=True)).all()


def _delete(ids):
    return db.session.execute(sa.delete(PendingIntake.__table__).where(PendingIntake.__table__.c.id.in_(ids))).rowcount


class _Gone(Exception):
    """A claimed row was gone at the delete: erased meanwhile (or, on SQLite, stored elsewhere)."""


def store_pending(limit=BATCH, should_stop=_never, clock=utcnow, per_transaction=None):
    """Store up to `limit` due intake rows; returns how many were stored.

    `per_transaction`: rows stored in one transaction (default PER_TRANSACTION for the database).
    """
    per_transaction = per_transaction or PER_TRANSACTION.get(db.session.get_bind().dialect.name, 1)
    stored = 0
    while stored < limit and not should_stop():
        rows = _claim(clock(), min(per_transaction, limit - stored))
        if not rows:
            db.session.rollback()
            break
        if len(rows) == 1:
            stored += _store_one(rows[0], clock)
        elif _store_batch(rows):
            stored += len(rows)
        else:  # one of them failed (or was erased): each row on its own, the failing one kept
            for received in rows:
                stored += _store_again(received, clock)
    return stored


def _store_batch(rows):
    """Store the claimed `rows` and delete them in this transaction; True once committed."""
    try:
        policies = {}
        for received in rows:
            store_received_enquiry(received, policies)
        if _delete([received.id for received in rows]) != len(rows):
            raise _Gone
        db.session.commit()
    except Exception:  # noqa: BLE001  (every row is tried again on its own, and kept if it fails)
        db.session.rollback()
        return False
    return True


def _store_again(received, clock):
    """Claim the row of `received` once more, alone, and store it; 1 if stored, else 0."""
    claimed = _claim(clock(), 1, received.id)
    if not claimed:  # another worker has it now, or it is gone
        db.session.rollback()
        return 0
    return _store_one(claimed[0], clock)


def _store_one(received, clock):
    """Store the claimed row `received` in this transaction; 1 if stored, else 0 (kept or gone)."""
    try:
        store_received_enquiry(received)
        if _delete([received.id]) != 1:
            db.session.rollback()  # stored by another worker, or erased meanwhile
            return 0
        db.session.commit()
    except Exception as error:
        db.session.rollback()  # the row is back, untouched
        if _stored_before(received):
            return 0
        _keep_failed(received, error, clock())
        return 0
    return 1


def _stored_before(received):
    """Delete the row if its enquiry exists already (True), as after a crash between the two
    commits of SQLite's main and intake files (crm.enquiries.intake_file). The same reference,
    received at the same moment from the same email address, is the same submission; a reference
    that another enquiry holds is not, and its row is kept and shown as failing."""
    same = db.session.scalar(
        sa.select(sa.func.count()).select_from(Enquiry).join(Contact, Contact.id == Enquiry.contact_id)
        .where(Enquiry.reference == received.reference, Enquiry.created_at == received.received_at,
               sa.func.lower(Contact.email) == received.email.lower()))
    if not same:
        db.session.rollback()
        return False
    _delete([received.id])
    db.session.commit()
    log.info("intake %s: stored before; row deleted", received.reference)
    return True


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
