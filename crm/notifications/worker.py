"""The mail worker: claims due outbox rows under a lease and delivers them.

Claiming is an UPDATE guarded by the lease, so two workers can never hold the same row; on
PostgreSQL the candidate rows are picked with FOR UPDATE SKIP LOCKED so that workers do not wait
on each other. A worker that dies leaves its rows claimed until the lease runs out; any worker
then claims them again. Each row is marked sent in its own commit right after the SMTP server
accepted it, so a crash can at most repeat one message, which carries the same Message-ID.
"""

import random
import signal
import smtplib
import socket
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_mail import Message

from crm.core.db import utcnow
from crm.extensions import db, mail
from crm.notifications.models import OutboxMessage

LEASE = timedelta(seconds=45)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
GIVE_UP_AFTER = timedelta(hours=24)
BATCH_SIZE = 50
POLL_SECONDS = 2.0


class PermanentFailure(Exception):
    """The SMTP server refused the message for good (5xx): retrying cannot help."""


def retry_delay(attempts):
    """Exponential backoff from 30 s, doubling to at most an hour, with ±20 % jitter."""
    base = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 (not for security)


def claim_batch(limit=BATCH_SIZE, now=None):
    """Claim up to `limit` due rows for this worker; returns them, already committed as claimed."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    due = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = db.session.scalars(due).all()
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == "pending",
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_until=now + LEASE, claimed_by=token)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.claimed_by == token).order_by(OutboxMessage.id)
    ).all()


def build_message(row):
    message = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text,
        html=row.html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
    message.msgId = row.message_id
    return message


def mark_sent(row):
    row.status = "sent"
    row.sent_at = utcnow()
    row.attempts += 1
    row.claimed_until = None
    row.last_error = None
    db.session.commit()


def mark_failed(row, error, permanent=False):
    now = utcnow()
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    row.claimed_until = None
    if permanent or now - row.created_at >= GIVE_UP_AFTER:
        row.status = "dead"
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
    db.session.commit()
    current_app.logger.warning(
        "outbox message %s %s after attempt %s: %s",
        row.id, row.status == "dead" and "dead" or "will retry", row.attempts, row.last_error,
    )


def is_permanent(error):
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return all(code >= 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def release(rows):
    """Give back rows this worker claimed but did not try, so another worker takes them now."""
    for row in rows:
        row.claimed_until = None
        row.claimed_by = None
    db.session.commit()


def deliver(rows, should_stop=lambda: False):
    """Send claimed rows over one SMTP connection; log them instead when no server is set.

    When `should_stop()` turns true the current message is finished and the rest released.
    """
    if not current_app.config.get("MAIL_SERVER"):
        for index, row in enumerate(rows):
            if should_stop():
                release(rows[index:])
                break
            current_app.logger.info(
                "email not sent (no MAIL_SERVER) to=%s subject=%r message_id=%s\n%s",
                row.recipient, row.subject, row.message_id, row.text,
            )
            mark_sent(row)
        return len(rows)
    sent = 0
    try:
        with mail.connect() as connection:
            for index, row in enumerate(rows):
                if should_stop():
                    release(rows[index:])
                    break
                try:
                    connection.send(build_message(row))
                except (smtplib.SMTPServerDisconnected, OSError):
                    raise
                except Exception as error:  # one bad message must not hold up the batch
                    mark_failed(row, error, permanent=is_permanent(error))
                    continue
                mark_sent(row)
                sent += 1
    except Exception as error:  # the server is down, slow or went away: retry what is left
        for row in rows:
            if row.status == "pending" and row.sent_at is None and row.claimed_until is not None:
                mark_failed(row, error, permanent=is_permanent(error))
    return sent


def run_once(limit=BATCH_SIZE, should_stop=lambda: False):
    """Claim and deliver one batch; returns how many rows were claimed."""
    rows = claim_batch(limit)
    if rows:
        deliver(rows, should_stop)
    return len(rows)


def drain():
    """Deliver everything that is due now, then return the number of rows handled."""
    handled = 0
    while count := run_once():
        handled += count
    return handled


class Worker:
    """The long-running loop of `flask crm worker`; SIGTERM ends it after the current batch."""

    def __init__(self, poll_seconds=POLL_SECONDS):
        self.poll_seconds = poll_seconds
        self.stopping = False

    def stop(self, *_):
        self.stopping = True

    def run(self):
        # Flask-Mail opens smtplib connections without a timeout; a hung server must not hang us.
        socket.setdefaulttimeout(current_app.config["MAIL_TIMEOUT"])
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        while not self.stopping:
            try:
                claimed = run_once(should_stop=lambda: self.stopping)
            except sa.exc.OperationalError:
                db.session.rollback()
                current_app.logger.exception("database unavailable; retrying")
                claimed = 0
            if not claimed:
                self._sleep()

    def _sleep(self):
        deadline = time.monotonic() + self.poll_seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)
