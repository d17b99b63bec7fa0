"""A hand-built set of enquiries whose every dashboard figure is known."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.enquiries.models import Enquiry
from crm.extensions import db
from tests.helpers import make_enquiry

PERIOD = {"period": "custom", "from": "2026-01-01", "to": "2026-03-31"}
NOW = datetime(2026, 2, 20, 12, tzinfo=UTC)


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def add(app, created, *, assignee=None, sector="medtech", source="form", status="new", name="Ada Jensen",
        response_hours=None, due_hours=48, **fields):
    """An enquiry received at `created`, answered `response_hours` later, due `due_hours` later."""
    reference = make_enquiry(app, created_at=created, assignee_id=assignee, sector=sector, status=status,
                             name=name)
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        enquiry.source = source
        enquiry.response_due_at = created + timedelta(hours=due_hours)
        if response_hours is not None:
            enquiry.first_response_at = created + timedelta(hours=response_hours)
        for key, value in fields.items():
            setattr(enquiry, key, value)
        db.session.commit()
    return reference


@pytest.fixture
def world(app, make_user):
    """Managers A and B; seven enquiries (one spam, one before the period)."""
    a = make_user(name="Anna Manager")
    b = make_user(name="Bent Manager")
    refs = {
        "e1": add(app, at(1, 5), assignee=a, status="won", response_hours=2, closed_at=at(2, 10),
                  planned_jobs=10, realised_jobs=8, planned_capex_eur=5_000_000, realised_capex_eur=4_000_000),
        "e2": add(app, at(1, 6), assignee=a, sector="biotech", source="api", status="lost", response_hours=4,
                  closed_at=at(2, 11), lost_reason="Project cancelled"),
        "e3": add(app, at(1, 7), assignee=a, status="contacted", response_hours=60),
        "e4": add(app, at(2, 2), sector="pharma", source="manual", status="new", name="Bo Unassigned"),
        "e5": add(app, at(2, 3), assignee=b, status="spam"),
        "e6": add(app, datetime(2025, 12, 1, 10, tzinfo=UTC), assignee=b, status="qualified", response_hours=1,
                  next_follow_up_on=date(2026, 2, 10), name="Carl Secret"),
        "e7": add(app, at(2, 5), assignee=a, status="proposal", response_hours=10, planned_jobs=20,
                  planned_capex_eur=7_000_000),
    }
    return {"a": a, "b": b, **refs}
