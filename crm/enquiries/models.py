"""Data subjects, their enquiries, the consent they gave and the timeline of each enquiry."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db

STATUSES = ("new", "contacted", "qualified", "meeting", "proposal", "won", "lost", "spam")
CLOSED_STATUSES = ("won", "lost", "spam")
PRIORITIES = ("high", "normal", "low")


class PrivacyPolicy(db.Model):
    __tablename__ = "privacy_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(20))
    # Each version is published in English and may be translated: one row per language.
    language: Mapped[str] = mapped_column(sa.String(5), default="en", server_default="en")
    text: Mapped[str] = mapped_column(sa.Text)
    # SHA-256 of the exact text shown, so that a consent can be tied to the words it accepted.
    sha256: Mapped[str] = mapped_column(sa.String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (
        sa.UniqueConstraint("version", "language", name="uq_privacy_policies_version_language"),
    )


class Contact(db.Model):
    """The data subject, keyed by normalised email."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    country: Mapped[str] = mapped_column(sa.String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the last acknowledgement was queued to this address: at most one an hour.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enquiries: Mapped[list["Enquiry"]] = relationship(back_populates="contact")


class Enquiry(db.Model):
    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    sector: Mapped[str] = mapped_column(sa.String(20))
    topic: Mapped[str] = mapped_column(sa.String(30))
    message: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(2), default="en")
    source: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(12), default="new")
    lost_reason: Mapped[str | None] = mapped_column(sa.String(500))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    next_follow_up_on: Mapped[date | None] = mapped_column(sa.Date)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the first response is promised: CRM_RESPONSE_TARGET_HOURS of working time after receipt.
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[str] = mapped_column(sa.String(6), default="normal", server_default="normal")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Retention counts from the last thing that happened to the enquiry.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The investment project's facts, filled in as the lead matures.
    project_type: Mapped[str | None] = mapped_column(sa.String(30))
    planned_jobs: Mapped[int | None]
    realised_jobs: Mapped[int | None]
    planned_capex_eur: Mapped[int | None] = mapped_column(sa.BigInteger)
    realised_capex_eur: Mapped[int | None] = mapped_column(sa.BigInteger)

    contact: Mapped[Contact] = relationship(back_populates="enquiries")
    assignee = relationship("User", foreign_keys=[assignee_id])
    consents: Mapped[list["Consent"]] = relationship(back_populates="enquiry")
    activities: Mapped[list["Activity"]] = relationship(
        back_populates="enquiry", order_by="Activity.id"
    )

    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        sa.CheckConstraint(f"priority IN {PRIORITIES!r}", name="priority"),
        # The inbox filters by assignee and status, newest first; overdue looks at follow-ups.
        sa.Index("ix_enquiries_assignee_status_created", "assignee_id", "status", "created_at"),
        sa.Index("ix_enquiries_status_created", "status", "created_at"),
        # (assignee_id: the dashboard counts overdue follow-ups per manager from the index alone)
        sa.Index("ix_enquiries_follow_up", "next_follow_up_on", "status", "assignee_id"),
        sa.Index("ix_enquiries_status_last_activity", "status", "last_activity_at"),
        # Unanswered enquiries, most urgent first (inbox sort, reminders, dashboard; status and
        # assignee_id: the dashboard counts late answers per manager from the index alone).
        sa.Index("ix_enquiries_response_due", "first_response_at", "response_due_at", "status", "assignee_id"),
        # Each inbox filter with the default order, and each other sort, from one index at a
        # million rows (a filter-only index would make the database sort a sixth of the table).
        sa.Index("ix_enquiries_assignee_created", "assignee_id", "created_at"),
        sa.Index("ix_enquiries_sector_created", "sector", "created_at"),
        sa.Index("ix_enquiries_topic_created", "topic", "created_at"),
        sa.Index("ix_enquiries_priority_created", "priority", "created_at"),
        sa.Index("ix_enquiries_last_activity", "last_activity_at"),
        sa.Index("ix_enquiries_response_due_at", "response_due_at"),
        # The dashboard's outcomes: landed and lost per quarter.
        sa.Index("ix_enquiries_status_closed", "status", "closed_at"),
    )

    @property
    def is_closed(self):
        return self.status in CLOSED_STATUSES


class Consent(db.Model):
    """Proof of consent: who agreed to which exact policy text, when, how and from where."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    enquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enquiries.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(sa.String(40), default="enquiry_handling")
    lawful_basis: Mapped[str] = mapped_column(sa.String(30), default="consent")
    policy_version: Mapped[str] = mapped_column(sa.String(20))
    policy_sha256: Mapped[str] = mapped_column(sa.String(64))
    # The language of the policy text shown (and hashed) when consent was given.
    policy_language: Mapped[str] = mapped_column(sa.String(5), default="en", server_default="en")
    method: Mapped[str] = mapped_column(sa.String(10))
    evidence: Mapped[str | None] = mapped_column(sa.String(500))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enquiry: Mapped[Enquiry | None] = relationship(back_populates="consents")
    contact: Mapped[Contact] = relationship()


class Activity(db.Model):
    """One entry of an enquiry's timeline; `details` never repeats the contact's personal data."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(sa.ForeignKey("enquiries.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enquiry: Mapped[Enquiry] = relationship(back_populates="activities")
    actor = relationship("User")

    @staticmethod
    def row(kind, now, details, actor_id=None):
        """A timeline entry as the values of a row, for callers that insert rows with Core (the
        submission path); the caller adds `enquiry_id`."""
        return {"kind": kind, "created_at": now, "details": details, "actor_id": actor_id}


class IdempotencyKey(db.Model):
    """The first answer given to an `Idempotency-Key`, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    enquiry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enquiries.id", ondelete="CASCADE"))
    response: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    enquiry: Mapped[Enquiry | None] = relationship()


class SpentFormToken(db.Model):
    """A time-trap token of the public form that has been used once (single use, every process).

    Rows older than the token's lifetime are deleted as new ones arrive: such a token is refused
    for its age anyway.
    """

    __tablename__ = "spent_form_tokens"

    nonce: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PendingIntake(db.Model):
    """An API submission accepted by the intake queue (CRM_INTAKE_QUEUE), not yet stored.

    The fast path (crm.enquiries.intake_fast_path) inserts the validated fields; the worker
    stores the enquiry with everything that goes with it and deletes the row in one transaction
    (crm.enquiries.intake). Personal data for seconds: exported and erased like the rest.
    """

    __tablename__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    country: Mapped[str] = mapped_column(sa.String(2))
    sector: Mapped[str] = mapped_column(sa.String(20))
    topic: Mapped[str] = mapped_column(sa.String(30))
    message: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(5))
    policy_version: Mapped[str] = mapped_column(sa.String(20))
    policy_language: Mapped[str] = mapped_column(sa.String(5))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A row that failed to store stays, retried with backoff (crm.enquiries.intake).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
