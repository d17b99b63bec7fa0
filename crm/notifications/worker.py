"""The mail worker: claims due outbox rows under a lease and delivers them over SMTP.

Claiming locks up to a batch of due, unleased rows (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, so that workers never wait on each other) and sets their lease in an UPDATE whose
WHERE clause repeats that guard, so two workers can never hold the same row. A worker that dies
leaves its rows leased until the lease runs out; any worker then claims them again.

Every write after the claim is guarded by the worker's claim token, so a worker that lost its
lease (it was stopped in a debugger, its host froze) cannot overwrite what the new owner did;
before each message the worker renews the lease when it is running short, and drops the rows
it no longer owns instead of sending them.

Right before each message goes to the SMTP server (or, without one, to the log) the worker
reads its row once more: a message it no longer owns is dropped, and one whose recipient has
withdrawn consent since it was queued is marked `cancelled` instead of sent (withdrawal cancels
the rows that workers hold, and this check also catches a message queued in a transaction that
raced the withdrawal).

Each row is marked sent in its own commit right after the SMTP server accepted it. A crash
between the two can repeat that one message, which then carries the same Message-ID header. We
keep the per-message commit (rather than one commit per batch, which would be faster) because
a crash would otherwise repeat up to a whole batch; docs/performance.md shows it is fast enough.
"""

import contextlib
import email.policy
import functools
import random
import signal
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_mail import BadHeaderError, Message

from crm.core.db import utcnow
from crm.enquiries.intake import store_pending
from crm.extensions import db, mail
from crm.notifications import heartbeats
from crm.notifications.heartbeats import HEARTBEAT_SECONDS
from crm.notifications.models import OutboxMessage

FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
GIVE_UP_AFTER = timedelta(hours=24)
PURGE_EVERY_SECONDS = 3600


@dataclass(frozen=True)
class ClaimedMessage:
    """What the worker needs of a claimed row, read once at claim time (no lazy reloads)."""

    id: int
    message_id: str
    kind: str
    recipient: str
    subject: str
    text: str
    html: str
    attempts: int
    failing_since: datetime | None
    reply_to: str | None = None


CLAIMED_COLUMNS = [OutboxMessage.__table__.c[name] for name in ClaimedMessage.__dataclass_fields__]


@dataclass
class Batch:
    """Rows one worker holds under one claim token until `claimed_until`."""

    token: str
    messages: list[ClaimedMessage]
    claimed_until: datetime


def _never():
    return False


def lease_length():
    return timedelta(seconds=current_app.config["CRM_OUTBOX_LEASE_SECONDS"])


def retry_delay(attempts, rng=random.random):
    """The wait after the `attempts`-th failure: 30 s doubling to an hour, minus up to 25 % jitter.

    Jitter spreads out the retries of the many messages that failed together during an outage;
    it only ever shortens the wait, so the first retry stays under a minute and no wait exceeds
    an hour (CONTRACT §7).
    """
    base = min(FIRST_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 20), MAX_RETRY_SECONDS)
    return timedelta(seconds=base * (1 - 0.25 * rng()))


def _due(now):
    return sa.and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _owned_by(batch):
    return sa.and_(OutboxMessage.claimed_by == batch.token, OutboxMessage.status == "pending")


def claim_batch(limit=None, clock=utcnow):
    """Claim up to `limit` due rows for this worker and commit the claim; returns the Batch."""
    now = clock()
    limit = limit or current_app.config["CRM_OUTBOX_BATCH_SIZE"]
    token = uuid.uuid4().hex
    claimed_until = now + lease_length()
    candidates = (
        sa.select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Lock the candidates first, then update them: two statements in one transaction.
        # Inside one UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED), PostgreSQL
        # re-runs the subquery when it re-checks a row another worker changed meanwhile, and
        # then claims far more than n rows (seen in the two-worker test: 1,000 in one claim).
        ids = db.session.scalars(candidates.with_for_update(skip_locked=True)).all()
        if not ids:
            db.session.rollback()
            return Batch(token=token, messages=[], claimed_until=claimed_until)
        chosen = OutboxMessage.id.in_(ids)
    else:
        # One statement: SQLite takes the write lock when it starts, so two workers queue up
        # behind each other instead of failing to upgrade a stale read snapshot.
        chosen = OutboxMessage.id.in_(candidates.scalar_subquery())
    rows = db.session.execute(
        sa.update(OutboxMessage.__table__)
        .where(chosen, _due(now))
        .values(claimed_until=claimed_until, claimed_by=token)
        .returning(*CLAIMED_COLUMNS)
    ).all()
    db.session.commit()
    messages = sorted((ClaimedMessage(*row) for row in rows), key=lambda m: m.id)
    return Batch(token=token, messages=messages, claimed_until=claimed_until)


def keep_lease(batch, messages, clock=utcnow):
    """Renew the lease when it runs short; returns the messages this worker still owns.

    A message whose lease ran out and that another worker claimed is dropped, not sent.
    """
    now = clock()
    margin = max(lease_length() / 2, timedelta(seconds=current_app.config["MAIL_TIMEOUT"]))
    if batch.claimed_until - now > margin or not messages:
        return messages
    claimed_until = now + lease_length()
    kept = set(db.session.scalars(
        sa.update(OutboxMessage.__table__)
        .where(OutboxMessage.id.in_([m.id for m in messages]), _owned_by(batch))
        .values(claimed_until=claimed_until)
        .returning(OutboxMessage.id)
    ))
    db.session.commit()
    batch.claimed_until = claimed_until
    lost = [m.id for m in messages if m.id not in kept]
    if lost:
        current_app.logger.warning("outbox lease lost on messages %s; another worker has them", lost)
    return [m for m in messages if m.id in kept]


# The same bytes as Flask-Mail's policy.SMTP output (its headers arrive encoded and free of line
# breaks), without re-parsing every header: half the CPU of a send (docs/performance.md).
FAST_SMTP_POLICY = email.policy.compat32.clone(linesep="\r\n")


class OutboxMailMessage(Message):
    def as_bytes(self):
        mime = self._message()
        mime.policy = FAST_SMTP_POLICY
        for part in mime.walk():
            if part.is_multipart():
                # The generator would compile a regex per boundary to check that the body does
                # not contain it; a random one cannot occur in base64 bodies, which have no "-".
                part.set_boundary(f"=============={uuid.uuid4().hex}==")
        return mime.as_bytes()


def build_message(message):
    """The Flask-Mail Message for a row, with the row's stable Message-ID.

    Queued subjects are single lines already; a line break in a stored subject or recipient
    can only be an attempt at header injection, so it is refused before Flask-Mail sees it.
    """
    for value in (message.subject, message.recipient, message.reply_to or ""):
        if "\r" in value or "\n" in value:
            raise BadHeaderError("line break in the subject or recipient")
    mail_message = OutboxMailMessage(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.text,
        html=message.html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        reply_to=message.reply_to,
    )
    mail_message.msgId = message.message_id
    return mail_message


def describe_error(error):
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        text = f"{error.smtp_code} {reply}"
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{code} {reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply}"
            for code, reply in error.recipients.values()
        )
    else:
        text = str(error) or error.__doc__ or ""
    return f"{type(error).__name__}: {text.strip()}"[:2000]


def is_permanent(error):
    """5xx replies and messages that cannot even be built are permanent; the rest may pass later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, BadHeaderError | ValueError | UnicodeError)


def connection_lost(error):
    """Errors after which the SMTP connection cannot carry the next message."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    # smtplib's reply errors are OSErrors too, but after them the connection is still usable.
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


_MARK_SENT = (
    sa.update(OutboxMessage.__table__)
    .where(OutboxMessage.id == sa.bindparam("row_id"), OutboxMessage.status != "sent")
    .values(status="sent", sent_at=sa.bindparam("sent_at"), attempts=OutboxMessage.attempts + 1,
            claimed_until=None, claimed_by=None, failing_since=None)
)


def mark_sent(marks, message, clock=utcnow):
    """Record the delivery, whoever holds the row now: it was delivered, whatever happens next.

    `marks` is the batch's autocommit connection (see sent_marks): one round trip per message.
    On PostgreSQL the commit does not wait for the WAL flush. A worker crash loses nothing by
    it; a crash of PostgreSQL itself can forget the last fraction of a second of deliveries,
    which are then sent again under the same Message-ID: the duplicate this design accepts.
    """
    result = marks.execute(_MARK_SENT, {"row_id": message.id, "sent_at": clock()})
    marks.commit()  # nothing to send in autocommit; ends SQLAlchemy's implicit transaction
    if result.rowcount == 0:
        current_app.logger.warning("outbox message %s was delivered twice (Message-ID %s)",
                                   message.id, message.message_id)


@contextlib.contextmanager
def sent_marks():
    """An autocommit connection for the batch's sent marks.

    Through the session each mark was BEGIN, UPDATE, COMMIT and a pool ping; a single UPDATE is
    atomic on its own, so autocommit sends one statement per message (docs/performance.md).
    """
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET synchronous_commit TO off")
        yield connection


def _withdrawn_recipient():
    """SQL: the row is mail to a prospect (its contact is the recipient) every one of whose
    consents is withdrawn (the rule of crm.gdpr.withdrawal.consent_withdrawn)."""
    from crm.enquiries.models import Consent, Contact

    def consents(withdrawn):
        return sa.exists().where(
            Consent.contact_id == OutboxMessage.contact_id,
            Consent.withdrawn_at.is_not(None) if withdrawn else Consent.withdrawn_at.is_(None))

    to_contact = sa.exists().where(Contact.id == OutboxMessage.contact_id,
                                   Contact.email == sa.func.lower(OutboxMessage.recipient))
    return sa.and_(OutboxMessage.contact_id.is_not(None), to_contact, consents(True),
                   ~consents(False))


@functools.cache
def _send_check():
    # Three primary-key or indexed lookups (outbox id, contacts id, consents contact_id); built
    # once, like _MARK_SENT, since it runs before every message.
    return (sa.select(OutboxMessage.status, OutboxMessage.claimed_by,
                      sa.case((_withdrawn_recipient(), True), else_=False))
            .where(OutboxMessage.id == sa.bindparam("row_id")))


def still_to_send(marks, batch, message):
    """Read the row once more right before sending: True when it is still this worker's to send.

    A row this worker no longer owns (another took it, or it was cancelled or deleted) is left
    alone. A row whose recipient has withdrawn consent is marked `cancelled` and not sent.
    One indexed read on the batch's autocommit connection; a write only to cancel.
    """
    row = marks.execute(_send_check(), {"row_id": message.id}).first()
    marks.commit()
    if row is None or row[0] != "pending" or row[1] != batch.token:
        current_app.logger.warning("outbox message %s is no longer this worker's; not sent", message.id)
        return False
    if not row[2]:
        return True
    marks.execute(
        sa.update(OutboxMessage.__table__)
        .where(OutboxMessage.id == message.id, _owned_by(batch))
        .values(status="cancelled", claimed_until=None, claimed_by=None)
    )
    marks.commit()
    current_app.logger.info("outbox message %s cancelled: the recipient withdrew consent", message.id)
    return False


def mark_failed(batch, message, error, permanent=False, clock=utcnow):
    """Schedule the next attempt, or make the row dead: a 5xx, or 24 hours of failure."""
    now = clock()
    failing_since = message.failing_since or now
    attempts = message.attempts + 1
    values = {"attempts": attempts, "last_error": describe_error(error), "claimed_until": None,
              "claimed_by": None, "failing_since": failing_since}
    dead = permanent or now - failing_since >= GIVE_UP_AFTER
    if dead:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = now + retry_delay(attempts)
    db.session.execute(
        sa.update(OutboxMessage.__table__)
        .where(OutboxMessage.id == message.id, _owned_by(batch))
        .values(**values)
    )
    db.session.commit()
    # The error text often quotes the address ("550 <ada@…>: unknown"): it stays in the row for
    # admins, and the log gets its kind and SMTP code only.
    current_app.logger.warning(
        "outbox message %s %s after attempt %s: %s %s",
        message.id, "is dead" if dead else "will be retried", attempts, type(error).__name__,
        getattr(error, "smtp_code", ""),
    )


def release(batch, messages):
    """Give back rows this worker claimed but did not try, so that a worker takes them now."""
    if messages:
        db.session.execute(
            sa.update(OutboxMessage.__table__)
            .where(OutboxMessage.id.in_([m.id for m in messages]), _owned_by(batch))
            .values(claimed_until=None, claimed_by=None)
        )
    db.session.commit()


@contextlib.contextmanager
def smtp_timeout(seconds):
    """Flask-Mail opens smtplib connections without a timeout; a hung server must not hang us."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _close(connection):
    if connection.host is None:
        return
    try:
        connection.host.quit()
    except (smtplib.SMTPException, OSError):
        connection.host.close()


def deliver(batch, should_stop=_never, clock=utcnow):
    """Send a claimed batch over one SMTP connection; returns how many the server accepted.

    Without MAIL_SERVER (development) each message is written to the log instead. When
    `should_stop()` turns true the current message is finished and the rest released.
    """
    if not batch.messages:
        return 0
    if not current_app.config.get("MAIL_SERVER"):
        with sent_marks() as marks:
            return _log_instead(batch, marks, should_stop, clock)
    with smtp_timeout(current_app.config["MAIL_TIMEOUT"]), sent_marks() as marks:
        connection = mail.connect()
        try:
            connection.__enter__()  # connects, STARTTLS, login
        except Exception as error:  # refused, timed out, TLS or login failed: not the messages' fault
            for message in batch.messages:
                mark_failed(batch, message, error, clock=clock)
            return 0
        try:
            return _send_all(connection, batch, marks, should_stop, clock)
        finally:
            _close(connection)


def _send_all(connection, batch, marks, should_stop, clock):
    sent = 0
    waiting = list(batch.messages)
    while waiting:
        if should_stop():
            release(batch, waiting)
            break
        waiting = keep_lease(batch, waiting, clock)
        if not waiting:
            break
        message = waiting.pop(0)
        try:
            mail_message = build_message(message)
        except Exception as error:  # the stored row cannot become an email: retrying cannot help
            mark_failed(batch, message, error, permanent=True, clock=clock)
            continue
        if not still_to_send(marks, batch, message):
            continue
        try:
            connection.send(mail_message)
        except Exception as error:
            mark_failed(batch, message, error, permanent=is_permanent(error), clock=clock)
            closed = connection.host is not None and connection.host.sock is None  # 421 closes it
            if connection_lost(error) or closed:
                release(batch, waiting)  # the next round reconnects for them
                break
            continue
        mark_sent(marks, message, clock)
        sent += 1
    return sent


def _references(messages):
    """Enquiry reference of each message that has one, read in one query."""
    from crm.enquiries.models import Enquiry

    rows = db.session.execute(
        sa.select(OutboxMessage.id, Enquiry.reference)
        .join(Enquiry, Enquiry.id == OutboxMessage.enquiry_id)
        .where(OutboxMessage.id.in_([m.id for m in messages]))
    ).all()
    db.session.rollback()
    return dict(rows)


def _log_instead(batch, marks, should_stop, clock):
    # Logs never hold personal data: no address, subject or body here; admins read the message
    # at /admin/outbox/<id>.
    references = _references(batch.messages)
    logged = 0
    for index, message in enumerate(batch.messages):
        if should_stop():
            release(batch, batch.messages[index:])
            return logged
        if not still_to_send(marks, batch, message):
            continue
        current_app.logger.info(
            "email not sent (no MAIL_SERVER; read it at /admin/outbox/%s) id=%s kind=%s "
            "reference=%s message_id=%s",
            message.id, message.id, message.kind, references.get(message.id, "-"),
            message.message_id,
        )
        mark_sent(marks, message, clock)
        logged += 1
    return logged


def run_once(limit=None, should_stop=_never, clock=utcnow):
    """Claim and deliver one batch; returns how many rows were claimed."""
    batch = claim_batch(limit, clock)
    deliver(batch, should_stop, clock)
    return len(batch.messages)


def drain(should_stop=_never, clock=utcnow):
    """Deliver everything that is due now; returns the number of rows handled."""
    handled = 0
    while not should_stop() and (claimed := run_once(should_stop=should_stop, clock=clock)):
        handled += claimed
    return handled


class Worker:
    """`flask crm worker`: SIGTERM or SIGINT ends it after the message being sent.

    `once=True` drains what is due and returns; otherwise it polls every
    CRM_OUTBOX_POLL_SECONDS and purges old sent rows every hour. Each round first stores what
    the intake queue accepted (crm.enquiries.intake), then delivers mail; both count as handled.
    """

    def __init__(self, once=False, poll_seconds=None):
        self.once = once
        self.poll_seconds = poll_seconds or current_app.config["CRM_OUTBOX_POLL_SECONDS"]
        self.stopping = False
        self.name = heartbeats.worker_name()

    def stop(self, signum=None, frame=None):
        self.stopping = True

    def run(self):
        """Returns the number of rows handled."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        current_app.logger.info(
            "outbox worker started (%s; delivering %s)",
            "draining once" if self.once else f"polling every {self.poll_seconds:g} s",
            "to " + current_app.config["MAIL_SERVER"] if current_app.config.get("MAIL_SERVER") else "to the log",
        )
        try:
            handled = self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if not self.once:
                self._heartbeat(None)
        current_app.logger.info("outbox worker stopped after handling %s messages", handled)
        return handled

    def _loop(self):
        handled = 0
        next_purge = time.monotonic()
        next_beat = time.monotonic()
        while not self.stopping:
            if not self.once and time.monotonic() >= next_beat:
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
                self._heartbeat(handled)
            if not self.once and time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                self._purge()
            try:
                # Enquiries the intake queue accepted first (their emails join this round).
                stored = store_pending(should_stop=lambda: self.stopping)
                claimed = run_once(should_stop=lambda: self.stopping) + stored
            except Exception:
                db.session.rollback()
                if self.once:
                    raise
                # The database or a bug: the claimed rows come back after their lease.
                current_app.logger.exception("outbox worker round failed; retrying")
                claimed = 0
            handled += claimed
            if not claimed:
                if self.once:
                    break
                self._sleep()
        return handled

    def _heartbeat(self, handled):
        """Tell /metrics this worker is alive (None: it stops); never the reason it stops."""
        try:
            if handled is None:
                heartbeats.forget(self.name)
            else:
                heartbeats.beat(self.name, handled)
        except Exception:
            db.session.rollback()
            current_app.logger.warning("outbox worker heartbeat not recorded", exc_info=True)

    def _purge(self):
        """Hourly housekeeping: old sent mail, and Idempotency-Keys past their 24 hours."""
        from crm.enquiries.services import purge_expired_idempotency_keys
        from crm.notifications.services import purge_sent_messages

        for purge in (purge_sent_messages, purge_expired_idempotency_keys, heartbeats.forget):
            try:
                purge()
            except Exception:
                db.session.rollback()
                current_app.logger.exception("%s failed", purge.__name__)

    def _sleep(self):
        deadline = time.monotonic() + self.poll_seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, self.poll_seconds))
