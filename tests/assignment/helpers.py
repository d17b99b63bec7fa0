"""Helpers of the assignment tests: managers with coverage, rules, submissions and who got them."""

from collections import Counter

import sqlalchemy as sa

from crm.assignment.models import AssignmentRule
from crm.enquiries.models import Activity, Enquiry
from crm.enquiries.services import submit_enquiry
from crm.extensions import db
from crm.staff.models import User
from tests.helpers import valid_payload


def set_user(app, user_id, **values):
    with app.app_context():
        user = db.session.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)
        db.session.commit()


def add_rule(app, to, priority=100, sectors=(), topics=(), countries=(), active=True, description=""):
    with app.app_context():
        rule = AssignmentRule(user_id=to, priority=priority, sectors=list(sectors), topics=list(topics),
                              countries=list(countries), active=active, description=description)
        db.session.add(rule)
        db.session.commit()
        return rule.id


def submit(app, **overrides):
    """Submit one enquiry through the real service; returns (reference, assignee id, reason details)."""
    overrides.setdefault("email", f"p{next_number()}@example.com")
    with app.app_context():
        reference = submit_enquiry(valid_payload(**overrides), source="api").reference
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        activity = db.session.scalar(sa.select(Activity).where(Activity.enquiry_id == enquiry.id,
                                                               Activity.kind == "assigned"))
        return reference, enquiry.assignee_id, activity.details if activity else None


_counter = iter(range(1, 10**9))


def next_number():
    return next(_counter)


def open_counts(app):
    with app.app_context():
        rows = db.session.execute(sa.select(Enquiry.assignee_id, sa.func.count()).group_by(Enquiry.assignee_id))
        return Counter(dict(rows.all()))


def today(app):
    """Today in CRM_TIMEZONE, as the engine sees it."""
    from crm.assignment.engine import today_local

    with app.app_context():
        return today_local()
