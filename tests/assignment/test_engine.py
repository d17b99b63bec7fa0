"""The engine's order: continuity, then the first matching enabled rule, then the lightest load."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.assignment.engine import describe_reason
from crm.core.db import utcnow
from crm.enquiries.models import Enquiry
from crm.extensions import db
from tests.assignment.helpers import add_rule, open_counts, set_user, submit, today
from tests.helpers import make_enquiry


@pytest.fixture
def managers(make_user):
    """Three managers covering all sectors, none assigned yet."""
    return [make_user(role="manager", name=f"Manager {i}") for i in range(3)]


def test_the_first_matching_enabled_rule_by_priority_wins(app, managers):
    a, b, c = managers
    add_rule(app, to=a, priority=20, sectors=["medtech"])
    add_rule(app, to=b, priority=10, sectors=["medtech", "biotech"], description="Life science lead")
    add_rule(app, to=c, priority=5, sectors=["medtech"], active=False)
    _, assignee, details = submit(app, sector="medtech")
    assert assignee == b
    assert details["reason"] == "rule" and details["rule"] == "Life science lead"
    assert describe_reason(details) == f"rule #{details['rule_id']} (Life science lead)"


@pytest.mark.parametrize("condition, matching, other", [
    ({"sectors": ["medtech", "pharma"]}, {"sector": "pharma"}, {"sector": "biotech"}),
    ({"topics": ["talent", "funding"]}, {"topic": "funding"}, {"topic": "establishment"}),
    ({"countries": ["SE", "NO"]}, {"country": "NO"}, {"country": "DK"}),
    ({"sectors": ["medtech"], "countries": ["DE"]}, {"sector": "medtech", "country": "DE"},
     {"sector": "medtech", "country": "DK"}),
])
def test_each_condition_is_a_list_and_all_given_conditions_must_match(app, managers, condition, matching, other):
    target = managers[2]
    add_rule(app, to=target, **condition)
    assert submit(app, **matching)[1] == target
    # Not matching: the load engine decides, and it starts with the first manager.
    assert submit(app, **other)[1] == managers[0]


def test_a_rule_whose_manager_is_away_or_inactive_falls_through_to_the_next(app, managers):
    a, b, c = managers
    add_rule(app, to=a, priority=1, sectors=["medtech"])
    add_rule(app, to=b, priority=2, sectors=["medtech"], topics=["establishment"])
    add_rule(app, to=c, priority=3)
    set_user(app, a, away_until=today(app))  # away through today
    _, assignee, details = submit(app, sector="medtech")
    assert assignee == b and details["skipped"] == [1]
    set_user(app, b, active=False)
    assert submit(app, sector="medtech")[1] == c
    set_user(app, a, away_until=today(app) - timedelta(days=1))  # back today
    assert submit(app, sector="medtech")[1] == a


def test_continuity_a_returning_investor_stays_with_their_manager(app, managers):
    a, b, c = managers
    add_rule(app, to=c, sectors=["medtech"])
    first = make_enquiry(app, assignee_id=b, email="investor@example.com")
    make_enquiry(app, assignee_id=b)  # b is the busiest
    _, assignee, details = submit(app, email="investor@example.com", sector="medtech")
    assert assignee == b and details == {"from": None, "to": b, "reason": "continuity", "enquiry": first}
    assert describe_reason(details) == f"continuity: the investor's open enquiry {first} is theirs"


def test_no_continuity_from_a_closed_enquiry_or_an_absent_manager(app, managers):
    a, b, c = managers
    make_enquiry(app, assignee_id=b, email="won@example.com", status="won")
    assert submit(app, email="won@example.com")[1] != b
    make_enquiry(app, assignee_id=c, email="away@example.com")
    set_user(app, c, away_until=today(app) + timedelta(days=3))
    assert submit(app, email="away@example.com")[2]["reason"] == "load"


def test_away_inactive_invited_and_admins_get_no_new_work(app, managers, make_user):
    a, b, c = managers
    make_user(role="admin")
    set_user(app, a, away_until=today(app) + timedelta(days=10))
    set_user(app, b, active=False)
    invited = make_user(role="manager")
    set_user(app, invited, password_hash=None)
    assert {submit(app)[1] for _ in range(4)} == {c}


def test_nobody_eligible_leaves_it_unassigned(app, managers):
    for manager in managers:
        set_user(app, manager, active=False)
    reference, assignee, details = submit(app)
    assert assignee is None and details is None


def test_sector_coverage_first_and_everyone_when_nobody_covers_it(app, make_user):
    specialist = make_user(role="manager", sectors=["medtech"])
    generalist = make_user(role="manager")  # no sectors: covers all
    robotics = make_user(role="manager", sectors=["robotics"])
    for _ in range(3):
        make_enquiry(app, assignee_id=specialist)
    assert submit(app, sector="medtech")[1] in (specialist, generalist)
    # biotech: only the generalist covers it, however busy.
    for _ in range(5):
        make_enquiry(app, assignee_id=generalist)
    assert submit(app, sector="biotech")[1] == generalist
    set_user(app, generalist, active=False)
    _, assignee, details = submit(app, sector="biotech")
    assert assignee == robotics and details["sector_covered"] is False  # nobody covers: all, lightest


def test_speakers_of_the_enquirys_language_are_preferred(app, make_user):
    english = make_user(role="manager", languages=["en"])
    danish = make_user(role="manager", languages=["da", "en"])
    for _ in range(4):
        make_enquiry(app, assignee_id=danish)
    _, assignee, details = submit(app, language="da")
    assert assignee == danish and details["language_matched"] is True
    assert submit(app, language="en")[1] == english


def test_the_fewest_open_enquiries_win_and_closed_ones_do_not_count(app, managers):
    a, b, c = managers
    for _ in range(3):
        make_enquiry(app, assignee_id=a, status="won")
        make_enquiry(app, assignee_id=b)
    make_enquiry(app, assignee_id=c)
    _, assignee, details = submit(app)
    assert assignee == a and details["open"] == 0 and details["tie_break"] is False


def test_ties_go_to_the_one_assigned_least_recently(app, managers):
    a, b, c = managers
    now = utcnow()
    set_user(app, a, last_assigned_at=now - timedelta(minutes=1))
    set_user(app, b, last_assigned_at=now - timedelta(minutes=5))
    set_user(app, c, last_assigned_at=now - timedelta(minutes=3))
    _, assignee, details = submit(app)
    assert assignee == b and details["tie_break"] is True
    assert "settled by who was assigned least recently" in describe_reason(details)
    # Then round the others in the same order: c, a.
    assert [submit(app)[1] for _ in range(2)] == [c, a]


def test_a_thousand_submissions_spread_evenly_in_a_fair_round(app, make_user):
    managers = [make_user(role="manager") for _ in range(4)]
    order = [submit(app)[1] for _ in range(1000)]
    counts = open_counts(app)
    assert sorted(counts) == sorted(managers) and max(counts.values()) - min(counts.values()) <= 1
    # A strict rotation: every window of four consecutive assignments holds each manager once.
    assert all(len(set(order[i:i + 4])) == 4 for i in range(0, 1000, 4))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 1000


def test_open_loads_from_the_totals_equal_a_count_of_the_open_enquiries(app, managers):
    """The engine reads each manager's open load from the dashboard's totals: after
    submissions, status changes (open, closed, reopened) and a reassignment, the figures are
    those of a plain count over the enquiries."""
    from crm.assignment.engine import open_count, open_loads
    from crm.enquiries.models import CLOSED_STATUSES

    references = [submit(app, sector=sector)[0] for sector in ("medtech", "biotech", "pharma") * 3]
    with app.app_context():
        by_ref = {e.reference: e for e in db.session.scalars(sa.select(Enquiry))}
        by_ref[references[0]].status = "won"
        by_ref[references[1]].status = "qualified"
        by_ref[references[2]].status = "spam"
        by_ref[references[3]].assignee_id = managers[2]
        by_ref[references[4]].status = "lost"
        db.session.commit()
        by_ref[references[4]].status = "contacted"  # reopened
        by_ref[references[5]].status = "lost"
        db.session.commit()
        counted = dict(db.session.execute(
            sa.select(Enquiry.assignee_id, sa.func.count())
            .where(Enquiry.status.not_in(CLOSED_STATUSES), Enquiry.assignee_id.in_(managers))
            .group_by(Enquiry.assignee_id)).all())
        expected = {m: counted.get(m, 0) for m in managers}
        assert open_loads(managers) == expected
        assert [open_count(m) for m in managers] == [expected[m] for m in managers]
        assert sum(expected.values()) == 9 - 3  # one won, one spam, one lost
