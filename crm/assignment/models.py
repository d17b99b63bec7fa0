"""Assignment rules: the first enabled rule that matches, by priority, names the manager."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import UTCDateTime, utcnow
from crm.extensions import db


class AssignmentRule(db.Model):
    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower wins; equal priorities are settled by id (the older rule first).
    priority: Mapped[int] = mapped_column(default=100, index=True)
    # Each condition is a list of codes; an empty list matches anything.
    sectors: Mapped[list] = mapped_column(sa.JSON, default=list)
    topics: Mapped[list] = mapped_column(sa.JSON, default=list)
    countries: Mapped[list] = mapped_column(sa.JSON, default=list)
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # A deleted user leaves the rule in place, naming nobody: the engine skips it and the rules
    # page shows it, so that an admin notices the gap instead of the rule silently vanishing.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)  # "enabled" on the rules page
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User")

    def matches(self, sector, topic, country):
        return ((not self.sectors or sector in self.sectors)
                and (not self.topics or topic in self.topics)
                and (not self.countries or country in self.countries))

    def conditions(self):
        """What makes two rules the same: their conditions, order-free."""
        return (frozenset(self.sectors or ()), frozenset(self.topics or ()),
                frozenset(self.countries or ()))
