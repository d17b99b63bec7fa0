"""What the triage area stores besides the enquiry itself."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db

DIGEST_KINDS = ("overdue", "unanswered")


class ReminderDigest(db.Model):
    """One reminder digest sent to one person on one local day.

    The unique constraint is what makes `flask crm remind` safe to run as often as cron likes:
    a second run that day (or two at once) cannot insert the row again, so it sends nothing.
    """

    __tablename__ = "reminder_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    local_date: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "kind", "local_date", name="uq_reminder_digests_once_a_day"),
        sa.CheckConstraint(f"kind IN {DIGEST_KINDS!r}", name="kind"),
    )
