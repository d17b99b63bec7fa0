"""The enquiry page (contact, message, consent, timeline) and assignment by admins."""

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.enquiries.models import Activity, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.staff.models import User
from tests.helpers import count, csrf_token, make_enquiry


@pytest.fixture
def setup(app, make_user, login):
    ids = {"manager": make_user(name="Helena Peyron", title="Senior Investment Manager"),
           "admin": make_user(role="admin")}
    admin = app.test_client()
    login(admin, ids["admin"])
    return ids, admin


def test_the_page_shows_contact_message_consent_and_timeline(app, setup):
    ids, admin = setup
    reference = make_enquiry(app, name="Ada Jensen", email="ada@example.com")
    page = admin.get(f"/staff/enquiries/{reference}")
    assert page.status_code == 200
    for text in (reference, "Ada Jensen", "ada@example.com", "Nordic Implants ApS", "We plan a European R&amp;D site.",
                 "privacy policy\n      2026-01", "Received: the web form", "Denmark"):
        assert text in page.text, text
    assert "<script" not in page.text and "style=" not in page.text


def test_contact_data_is_escaped(app, setup):
    ids, admin = setup
    reference = make_enquiry(app, name='<img src=x onerror="alert(1)">')
    page = admin.get(f"/staff/enquiries/{reference}")
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text


def assign(client, reference, assignee_id):
    return client.post(f"/staff/enquiries/{reference}/assign",
                       data={"assignee_id": assignee_id, "csrf_token": csrf_token(client)})


def test_an_admin_assigns_and_the_assignee_is_emailed(app, setup):
    ids, admin = setup
    reference = make_enquiry(app)
    response = assign(admin, reference, ids["manager"])
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/enquiries/{reference}"
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        assert enquiry.assignee_id == ids["manager"]
        activity = db.session.scalar(sa.select(Activity).where(Activity.kind == "assigned"))
        assert (activity.actor_id, activity.details) == (
            ids["admin"], {"from": None, "to": ids["manager"], "reason": "manual"})
        mail = db.session.scalar(sa.select(OutboxMessage))
        assert mail.recipient == db.session.get(User, ids["manager"]).email
        assert reference in mail.subject and mail.kind == "enquiry_assigned" and mail.status == "pending"
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "enquiry.assigned"))
        assert (audit.actor_id, audit.target_id) == (ids["admin"], reference)
    page = admin.get(f"/staff/enquiries/{reference}")
    assert "Assigned: nobody → Helena Peyron" in page.text
    # The same assignment again changes nothing and sends nothing.
    assert assign(admin, reference, ids["manager"]).status_code == 303
    assert count(app, OutboxMessage) == 1 and count(app, Activity, Activity.kind == "assigned") == 1


def test_reassignment_emails_the_new_assignee(app, setup, make_user):
    ids, admin = setup
    reference = make_enquiry(app, assignee_id=ids["manager"])
    other = make_user()
    assert assign(admin, reference, other).status_code == 303
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMessage))
        assert mail.recipient == db.session.get(User, other).email and "reassigned" in mail.subject


@pytest.mark.parametrize("assignee", ["", "abc", "999999", "-1", "inactive", "invited"])
def test_a_bad_assignee_changes_nothing(app, setup, make_user, assignee):
    ids, admin = setup
    reference = make_enquiry(app)
    if assignee in ("inactive", "invited"):
        user_id = make_user()
        with app.app_context():
            user = db.session.get(User, user_id)
            if assignee == "inactive":
                user.active = False
            else:
                user.password_hash = None
            db.session.commit()
        assignee = user_id
    response = assign(admin, reference, assignee)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(Enquiry.assignee_id).where(Enquiry.reference == reference)) is None
    assert count(app, OutboxMessage) == 0 and count(app, Activity, Activity.kind == "assigned") == 0


def test_an_unknown_reference_answers_404(setup):
    ids, admin = setup
    assert admin.get("/staff/enquiries/AAL-0000-0000").status_code == 404
    assert assign(admin, "AAL-0000-0000", ids["manager"]).status_code == 404
    assert admin.get("/staff/enquiries/" + "A" * 300).status_code == 404
