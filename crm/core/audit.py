"""The append-only audit log. Entries name records by id or reference, never by personal data."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(30))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def record_audit(action, *, actor=None, target_type=None, target_id=None, ip_address=None):
    """Add an audit entry to the current transaction (the caller's service commits it)."""
    entry = AuditLog(
        action=action,
        actor_id=getattr(actor, "id", actor),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip_address=ip_address,
    )
    db.session.add(entry)
    return entry


@sa.event.listens_for(AuditLog, "before_update")
@sa.event.listens_for(AuditLog, "before_delete")
def _append_only(mapper, connection, target):
    """The audit log is append-only: the app never changes or removes an entry (retention
    deletes entries past five years with one statement, in crm/gdpr/retention.py)."""
    raise PermissionError("audit entries cannot be changed or deleted")
