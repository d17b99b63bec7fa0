"""Proof that a person was erased, without keeping who they were."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db


class ErasureTombstone(db.Model):
    __tablename__ = "erasure_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 of the normalised email under the app's secret: not reversible, but it
    # recognises the same address if it is ever imported again.
    email_hmac: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(30))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
