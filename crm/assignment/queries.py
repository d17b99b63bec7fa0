"""Read-only questions about assignment: who could take an enquiry, and the rules in order."""

import sqlalchemy as sa

from crm.assignment.engine import is_present, open_loads, speaks, today_local
from crm.assignment.models import AssignmentRule
from crm.extensions import db
from crm.staff.queries import assignable_staff


def assign_choices(enquiry):
    """Everyone the enquiry can go to, with what matters for the choice: coverage and load."""
    staff = assignable_staff()
    loads = open_loads([u.id for u in staff])
    today = today_local()
    rows = [{"user": u, "covers": u.covers(enquiry.sector), "speaks": speaks(u, enquiry.language),
             "open": loads[u.id], "away_until": None if is_present(u, today) else u.away_until}
            for u in staff]
    # The natural candidates first: covering the sector, speaking the language, lightest.
    return sorted(rows, key=lambda r: (not r["covers"], not r["speaks"], r["away_until"] is not None,
                                       r["open"], r["user"].name))


def rules_in_order():
    return db.session.scalars(
        sa.select(AssignmentRule).order_by(AssignmentRule.priority, AssignmentRule.id)
    ).all()


def rule_by_id(rule_id):
    return db.session.get(AssignmentRule, rule_id) if isinstance(rule_id, int) else None
