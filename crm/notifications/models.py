"""The outbox: every email is a row written in the transaction that causes it."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db

# cancelled: the recipient withdrew consent before the message went out (never sent).
OUTBOX_STATUSES = ("pending", "sent", "dead", "cancelled")


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable across retries, so that a rare duplicate after a crash is recognisable downstream.
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text)
    # A reply from the enquiry page goes back to the manager who wrote it, not to noreply.
    reply_to: Mapped[str | None] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's lease on the row; a row whose lease ran out is claimable again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # When the current run of failures began: a message is given up 24 hours after it, not 24
    # hours after it was queued (a worker that was down for a day must not kill its backlog).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Links used to find a person's mail for subject access and erasure.
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    enquiry = relationship("Enquiry")
    contact = relationship("Contact")
    user = relationship("User")

    __table_args__ = (
        sa.CheckConstraint(f"status IN {OUTBOX_STATUSES!r}", name="status"),
        sa.Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )


class WorkerHeartbeat(db.Model):
    """The last sign of life of each running outbox worker (for /metrics and alerts).

    Workers are separate processes, often on separate hosts: the database is what they share.
    """

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(sa.String(80), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    handled: Mapped[int] = mapped_column(default=0)
