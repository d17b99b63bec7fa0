"""POST /staff/enquiries/<ref>/assign: admins assign anything, managers claim and hand over."""

import pytest
import sqlalchemy as sa

from crm.assignment.services import NotYours, assign_enquiry
from crm.core.audit import AuditLog
from crm.enquiries.models import Activity, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User
from tests.assignment.helpers import set_user
from tests.helpers import count, csrf_token, make_enquiry


@pytest.fixture
def people(app, make_user, login):
    ids = {"admin": make_user(role="admin"), "helena": make_user(name="Helena Peyron", sectors=["medtech"]),
           "colleague": make_user(name="Jonas Berg", sectors=["medtech", "biotech"], languages=["da"]),
           "robotics": make_user(name="Robotics Specialist", sectors=["robotics"])}
    clients = {}
    for who in ("admin", "helena", "colleague"):
        clients[who] = app.test_client()
        login(clients[who], ids[who])
    return ids, clients


def assign(client, reference, assignee_id, **extra):
    return client.post(f"/staff/enquiries/{reference}/assign",
                       data={"assignee_id": assignee_id, "csrf_token": csrf_token(client), **extra})


def state(app, reference):
    """The enquiry's assignee, and how many assignment entries and emails exist."""
    with app.app_context():
        assignee = db.session.scalar(sa.select(Enquiry.assignee_id).where(Enquiry.reference == reference))
    return assignee, count(app, Activity, Activity.kind == "assigned"), count(app, OutboxMessage)


def test_a_manager_claims_an_unassigned_enquiry(app, people):
    ids, clients = people
    reference = make_enquiry(app)
    response = assign(clients["helena"], reference, ids["helena"])
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/enquiries/{reference}"
    assert state(app, reference) == (ids["helena"], 1, 1)
    with app.app_context():
        activity = db.session.scalar(sa.select(Activity).where(Activity.kind == "assigned"))
        assert activity.actor_id == ids["helena"] and activity.details["reason"] == "manual"
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "enquiry.assigned"))
        assert (audit.actor_id, audit.target_id) == (ids["helena"], reference)
    page = clients["helena"].get(f"/staff/enquiries/{reference}")
    assert "→ Helena Peyron" in page.text and "Why: by hand" in page.text


def test_a_manager_hands_their_enquiry_to_a_colleague_then_cannot_touch_it(app, people):
    ids, clients = people
    reference = make_enquiry(app, assignee_id=ids["helena"])
    assert assign(clients["helena"], reference, ids["colleague"]).status_code == 303
    assert state(app, reference) == (ids["colleague"], 1, 1)
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMessage))
        assert mail.recipient == db.session.get(User, ids["colleague"]).email
        assert reference in mail.subject and "reassigned" in mail.subject
        assert f"/staff/enquiries/{reference}" in mail.text and "assigned by Helena Peyron" in mail.text
    # Now it is the colleague's: to Helena it does not exist.
    assert assign(clients["helena"], reference, ids["helena"]).status_code == 404
    assert state(app, reference) == (ids["colleague"], 1, 1)


def test_another_managers_enquiry_answers_404_and_changes_nothing(app, people):
    ids, clients = people
    reference = make_enquiry(app, assignee_id=ids["colleague"])
    for target in (ids["helena"], ids["colleague"], "nonsense"):
        assert assign(clients["helena"], reference, target).status_code == 404
    assert state(app, reference) == (ids["colleague"], 0, 0)
    assert count(app, AuditLog, AuditLog.action == "access.denied") == 3


def test_an_admin_assigns_any_enquiry_to_any_active_staff_member(app, people):
    ids, clients = people
    reference = make_enquiry(app, assignee_id=ids["colleague"])
    assert assign(clients["admin"], reference, ids["admin"]).status_code == 303
    assert state(app, reference) == (ids["admin"], 1, 1)


@pytest.mark.parametrize("value", ["", "   ", "abc", "999999", "-1", "1e3", "1.0", "9" * 40, "0x1",
                                   "\u0661", "inactive", "invited"])
@pytest.mark.parametrize("who", ["admin", "helena"])
def test_a_forged_unknown_or_inactive_assignee_is_422_and_changes_nothing(app, people, make_user, value, who):
    ids, clients = people
    reference = make_enquiry(app)
    if value in ("inactive", "invited"):
        user_id = make_user()
        set_user(app, user_id, **({"active": False} if value == "inactive" else {"password_hash": None}))
        value = str(user_id)
    response = assign(clients[who], reference, value)
    assert response.status_code == 422 and "Choose an active staff member." in response.text
    assert state(app, reference) == (None, 0, 0)
    assert count(app, AuditLog, AuditLog.action == "enquiry.assigned") == 0


def test_outside_their_sectors_asks_for_confirmation_first(app, people):
    ids, clients = people
    reference = make_enquiry(app, sector="medtech")
    response = assign(clients["admin"], reference, ids["robotics"])
    assert response.status_code == 422
    assert "Robotics Specialist does not cover Medical technology." in response.text
    assert 'name="confirm" value="1"' in response.text
    assert state(app, reference) == (None, 0, 0)
    assert assign(clients["admin"], reference, ids["robotics"], confirm="1").status_code == 303
    assert state(app, reference) == (ids["robotics"], 1, 1)
    page = clients["admin"].get(f"/staff/enquiries/{reference}")
    assert "Why: by hand, outside their sectors (confirmed)" in page.text


def test_someone_away_asks_for_confirmation_too(app, people):
    from datetime import date

    ids, clients = people
    set_user(app, ids["colleague"], away_until=date(2999, 1, 1))
    reference = make_enquiry(app)
    response = assign(clients["admin"], reference, ids["colleague"])
    assert response.status_code == 422 and "Jonas Berg is away until 2999-01-01." in response.text
    assert state(app, reference) == (None, 0, 0)


def test_the_assign_control_shows_coverage_language_and_load(app, people):
    ids, clients = people
    make_enquiry(app, assignee_id=ids["colleague"])
    make_enquiry(app, assignee_id=ids["colleague"], status="lost")
    reference = make_enquiry(app, sector="biotech")
    page = clients["admin"].get(f"/staff/enquiries/{reference}")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    # Jonas covers biotech (and has one open enquiry): first; Helena does not.
    assert "<td>Jonas Berg </td> <td>yes</td> <td>no</td> <td>1</td>" in text
    assert "<td>Helena Peyron </td> <td>no</td> <td>yes</td> <td>0</td>" in text
    assert text.index("Jonas Berg") < text.index("Helena Peyron")
    assert "Helena Peyron · 0 open · outside their sectors" in text


def test_a_claim_made_meanwhile_by_a_colleague_wins(app, people):
    """The service checks visibility again under the lock: the second of two claims gets NotYours."""
    ids, _ = people
    reference = make_enquiry(app)
    with app.app_context():
        stale = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        helena = db.session.get(User, ids["helena"])
        with app.app_context():  # a colleague claims it in another transaction
            fresh = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
            colleague = db.session.get(User, ids["colleague"])
            assert assign_enquiry(fresh, colleague, colleague) is True
        with pytest.raises(NotYours):
            assign_enquiry(stale, helena, helena)
    assert state(app, reference) == (ids["colleague"], 1, 1)
