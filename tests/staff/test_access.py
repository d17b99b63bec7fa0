"""Access control on every state-changing staff and admin URL, for every kind of visitor, with
exact statuses; refusals change nothing. (Pages: test_access_pages.py.)"""

import pytest
import sqlalchemy as sa

from crm.enquiries.models import Activity, Enquiry
from crm.extensions import db
from crm.staff.models import User
from tests.helpers import count, csrf_token, make_enquiry

VISITORS = ("anonymous", "manager", "other_manager", "admin")


def build_world(app, make_user, login):
    """Two managers and an admin, an enquiry of the first manager's and an unassigned one."""
    ids = {"manager": make_user(role="manager"), "other_manager": make_user(role="manager"),
           "admin": make_user(role="admin")}
    refs = {"mine": make_enquiry(app, assignee_id=ids["manager"]), "unassigned": make_enquiry(app),
            "missing": "AAL-0000-0000", "dead_message": make_dead_message(app),
            "rule": make_rule(app, ids["manager"])}
    clients = {}

    def client_for(visitor, fresh=True):
        if fresh or visitor not in clients:
            clients[visitor] = app.test_client()
            if visitor != "anonymous":
                login(clients[visitor], ids[visitor])
        return clients[visitor]

    return ids, refs, client_for


@pytest.fixture
def world(app, make_user, login):
    return build_world(app, make_user, login)


def make_dead_message(app):
    from crm.core.db import utcnow
    from crm.notifications.models import OutboxMessage

    with app.app_context():
        message = OutboxMessage(message_id=f"<{utcnow().timestamp()}@test>", kind="enquiry_received",
                                recipient="ada@example.com", subject="S", text="T", html="H", status="dead",
                                attempts=3, last_error="SMTPRecipientsRefused: 550")
        db.session.add(message)
        db.session.commit()
        return message.id


def make_rule(app, user_id):
    from crm.assignment.models import AssignmentRule

    with app.app_context():
        rule = AssignmentRule(user_id=user_id, sectors=["medtech"], priority=100)
        db.session.add(rule)
        db.session.commit()
        return rule.id


def rules_state(app):
    from crm.assignment.models import AssignmentRule

    with app.app_context():
        return db.session.execute(sa.select(AssignmentRule.id, AssignmentRule.priority, AssignmentRule.active,
                                            AssignmentRule.sectors).order_by(AssignmentRule.id)).all()


def away_dates(app):
    with app.app_context():
        return db.session.execute(sa.select(User.id, User.away_until).order_by(User.id)).all()


def message_status(app, message_id):
    from crm.notifications.models import OutboxMessage

    with app.app_context():
        return db.session.get(OutboxMessage, message_id).status


def fill(template, ids, refs):
    return template.format(**refs, manager_id=ids["manager"])


def enquiry_state(app, reference):
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        return enquiry.assignee_id, count(app, Activity, Activity.enquiry_id == enquiry.id)


def user_state(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.role, user.active, user.title, user.sectors


# (url template, form data builder, expected for each visitor)
POST_CASES = [
    # A manager claims or hands over what they can see; another manager's enquiry does not exist.
    ("/staff/enquiries/{unassigned}/assign", lambda ids: {"assignee_id": ids["other_manager"]},
     (302, 303, 303, 303)),
    ("/staff/enquiries/{mine}/assign", lambda ids: {"assignee_id": ids["other_manager"]},
     (302, 303, 404, 303)),
    ("/staff/enquiries/{mine}/assign", lambda ids: {"assignee_id": "999999"}, (302, 422, 404, 422)),
    ("/admin/rules/new", lambda ids: {"user_id": ids["manager"], "sectors": "biotech", "priority": "5"},
     (302, 403, 403, 303)),
    # The enquiry page's actions: a manager may act on their own and on unassigned enquiries.
    *[(f"/staff/enquiries/{{{which}}}/{action}", data, expected)
      for which, expected in (("mine", (302, 303, 404, 303)), ("unassigned", (302, 303, 303, 303)))
      for action, data in (
          ("status", lambda ids: {"status": "contacted"}), ("notes", lambda ids: {"body": "Called"}),
          ("follow-up", lambda ids: {"due": "2026-12-01"}), ("priority", lambda ids: {"priority": "high"}),
          ("project", lambda ids: {"project_type": "greenfield", "planned_jobs": "12"}),
          ("reply", lambda ids: {"subject": "Your enquiry", "body": "Dear Ada"}))],
    ("/admin/rules/{rule}", lambda ids: {"user_id": ids["other_manager"], "sectors": "pharma", "priority": "7"},
     (302, 403, 403, 303)),
    ("/admin/rules/{rule}/disable", lambda ids: {}, (302, 403, 403, 303)),
    ("/admin/rules/{rule}/move", lambda ids: {"direction": "down"}, (302, 403, 403, 303)),
    ("/admin/users/{manager_id}/reassign", lambda ids: {}, (302, 403, 403, 303)),
    ("/account/away", lambda ids: {"away_until": "2030-01-01"}, (302, 303, 303, 303)),
    ("/admin/users/{manager_id}", lambda ids: {"role": "admin", "title": "Boss"}, (302, 403, 403, 303)),
    ("/admin/users/{manager_id}/deactivate", lambda ids: {}, (302, 403, 403, 303)),
    ("/admin/users/{manager_id}/reactivate", lambda ids: {}, (302, 403, 403, 303)),
    ("/admin/users/invite", lambda ids: {"email": "x@investinaalborg.example", "name": "X", "role": "manager"},
     (302, 403, 403, 303)),
    ("/admin/outbox/{dead_message}/requeue", lambda ids: {}, (302, 403, 403, 303)),
]


@pytest.mark.parametrize("template, data, expected", POST_CASES, ids=[c[0] for c in POST_CASES])
@pytest.mark.parametrize("visitor", VISITORS)
def test_post_access(app, world, template, data, expected, visitor):
    ids, refs, client_for = world
    url = fill(template, ids, refs)
    client = client_for(visitor)
    before = (enquiry_state(app, refs["mine"]), enquiry_state(app, refs["unassigned"]),
              user_state(app, ids["manager"]), count(app, User), message_status(app, refs["dead_message"]),
              rules_state(app), away_dates(app))
    response = client.post(url, data={**data(ids), "csrf_token": csrf_token(client)})
    status = expected[VISITORS.index(visitor)]
    assert response.status_code == status
    after = (enquiry_state(app, refs["mine"]), enquiry_state(app, refs["unassigned"]),
             user_state(app, ids["manager"]), count(app, User), message_status(app, refs["dead_message"]),
             rules_state(app), away_dates(app))
    if status == 303:
        assert after != before or url.endswith("reactivate")
    else:
        assert after == before


def test_a_manager_cannot_see_another_managers_enquiry_through_the_inbox(app, world):
    ids, refs, client_for = world
    page = client_for("other_manager").get(f"/staff/enquiries?assignee={ids['manager']}")
    assert page.status_code == 200 and refs["mine"] not in page.text
    assert refs["mine"] in client_for("manager").get("/staff/enquiries").text
