"""Assignment rules: the first active rule that matches, by priority, names the manager."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db


class AssignmentRule(db.Model):
    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[int] = mapped_column(default=100, index=True)
    # None matches anything.
    sector: Mapped[str | None] = mapped_column(sa.String(20))
    topic: Mapped[str | None] = mapped_column(sa.String(30))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)

    user = relationship("User")
