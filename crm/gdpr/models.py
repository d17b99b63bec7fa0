"""GDPR records: erasure tombstones, data-subject requests, retention runs, the Art. 30 record."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db

REQUEST_KINDS = ("access", "erasure", "rectification", "objection")


class ErasureTombstone(db.Model):
    __tablename__ = "erasure_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 of the normalised email under the app's secret: not reversible, but it
    # recognises the same address if it is ever imported again.
    email_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(30))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataSubjectRequest(db.Model):
    """A request under Art. 15–21, answered within one month of receipt (Art. 12(3)).

    The subject is named by the keyed hash of their email, never the address itself, so that
    the request outlives an erasure without keeping who asked.
    """

    __tablename__ = "data_subject_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    subject_hmac: Mapped[str] = mapped_column(sa.String(64), index=True)
    received_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User", foreign_keys=[created_by_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])

    __table_args__ = (sa.CheckConstraint(f"kind IN {REQUEST_KINDS!r}", name="kind"),)


class PurgeRun(db.Model):
    """One run of `flask crm gdpr purge`: what it erased (or would have, on a dry run)."""

    __tablename__ = "purge_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dry_run: Mapped[bool] = mapped_column(default=False)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class ProcessingRecord(db.Model):
    """One section of the record of processing activities (Art. 30), kept as editable data."""

    __tablename__ = "processing_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    heading: Mapped[str] = mapped_column(sa.String(120))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    updated_by = relationship("User")
