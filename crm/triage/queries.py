"""The inbox and the enquiry detail as each viewer may see them (CONTRACT §5).

A manager sees the enquiries assigned to them and the unassigned ones; an admin sees all. The
same visibility rule serves the list and the detail page, so they cannot disagree.
"""

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, STATUSES, Activity, Enquiry
from crm.enquiries.options import SECTORS, TOPICS
from crm.extensions import db
from crm.triage.search import search_clause

PAGE_SIZE = 25
ASSIGNEE_WORDS = ("me", "unassigned", "all")


class FiltersInvalid(ValueError):
    pass


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    assignee: str = "all"  # me, unassigned, all, or a user id as text
    sector: str | None = None
    topic: str | None = None
    q: str | None = None  # name, email, company or reference
    overdue: bool = False  # next follow-up date in the past, enquiry still open
    page: int = 1

    @classmethod
    def from_args(cls, args):
        """Parse the query string; raises FiltersInvalid for values that mean nothing."""
        status = args.get("status") or None
        assignee = args.get("assignee") or "all"
        sector = args.get("sector") or None
        topic = args.get("topic") or None
        page = args.get("page") or "1"
        q = (args.get("q") or "").strip() or None
        overdue = args.get("overdue") or "0"
        if status is not None and status not in STATUSES:
            raise FiltersInvalid("status")
        if assignee not in ASSIGNEE_WORDS and not (assignee.isdigit() and len(assignee) < 10):
            raise FiltersInvalid("assignee")
        if sector is not None and sector not in SECTORS:
            raise FiltersInvalid("sector")
        if topic is not None and topic not in TOPICS:
            raise FiltersInvalid("topic")
        if not page.isdigit() or not 1 <= int(page) <= 100_000:
            raise FiltersInvalid("page")
        if q is not None and len(q) > 200:
            raise FiltersInvalid("q")
        if overdue not in ("0", "1"):
            raise FiltersInvalid("overdue")
        return cls(status=status, assignee=assignee, sector=sector, topic=topic, q=q,
                   overdue=overdue == "1", page=int(page))

    def as_args(self, **changes):
        values = {"status": self.status, "assignee": self.assignee, "sector": self.sector,
                  "topic": self.topic, "q": self.q, "overdue": 1 if self.overdue else None,
                  "page": self.page, **changes}
        return {k: v for k, v in values.items() if v not in (None, "", "all") and (k, v) != ("page", 1)}


@dataclass
class InboxPage:
    enquiries: list
    filters: InboxFilters
    has_next: bool
    has_previous: bool = field(init=False)

    def __post_init__(self):
        self.has_previous = self.filters.page > 1


def visible_to(viewer):
    """The WHERE clause of the enquiries `viewer` may see."""
    if viewer.is_admin:
        return sa.true()
    if db.session.get_bind().dialect.name == "sqlite":
        # One comparison: as an OR, SQLite unions two index searches and sorts a third of the
        # table for every page (seconds at a million rows). PostgreSQL's statistics plan the
        # OR well, and could not see through the coalesce.
        return sa.func.coalesce(Enquiry.assignee_id, viewer.id) == viewer.id
    return sa.or_(Enquiry.assignee_id == viewer.id, Enquiry.assignee_id.is_(None))


def inbox_page(viewer, filters):
    """One page of the inbox, newest first, without counting the whole table.

    Fetches PAGE_SIZE + 1 rows to know whether a next page exists. The (assignee_id, status,
    created_at) and (status, created_at) indexes serve the filters and the order.
    """
    query = sa.select(Enquiry).options(joinedload(Enquiry.contact), joinedload(Enquiry.assignee))
    query = query.where(visible_to(viewer))
    if filters.assignee == "me":
        query = query.where(Enquiry.assignee_id == viewer.id)
    elif filters.assignee == "unassigned":
        query = query.where(Enquiry.assignee_id.is_(None))
    elif filters.assignee != "all":
        query = query.where(Enquiry.assignee_id == int(filters.assignee))
    if filters.status:
        query = query.where(Enquiry.status == filters.status)
    if filters.sector:
        query = query.where(Enquiry.sector == filters.sector)
    if filters.topic:
        query = query.where(Enquiry.topic == filters.topic)
    if filters.overdue:
        query = query.where(Enquiry.next_follow_up_on < utcnow().date(), Enquiry.status.not_in(CLOSED_STATUSES))
    if filters.q:
        query = query.where(search_clause(filters.q))
    query = (query.order_by(Enquiry.created_at.desc(), Enquiry.id.desc())
             .limit(PAGE_SIZE + 1).offset((filters.page - 1) * PAGE_SIZE))
    rows = db.session.scalars(query).all()
    return InboxPage(enquiries=rows[:PAGE_SIZE], filters=filters, has_next=len(rows) > PAGE_SIZE)


def enquiry_for(viewer, reference):
    """The enquiry with `reference` if `viewer` may see it, else None (the caller answers 404)."""
    if not isinstance(reference, str) or len(reference) > 20:
        return None
    return db.session.scalar(
        sa.select(Enquiry)
        .options(joinedload(Enquiry.contact), joinedload(Enquiry.assignee),
                 selectinload(Enquiry.consents),
                 selectinload(Enquiry.activities).joinedload(Activity.actor))
        .where(Enquiry.reference == reference, visible_to(viewer))
    )
