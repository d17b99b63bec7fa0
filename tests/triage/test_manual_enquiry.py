"""/staff/enquiries/new: an enquiry recorded by hand through the same submit_enquiry."""

import pytest
import sqlalchemy as sa

from crm.enquiries.models import Activity, Consent, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from tests.helpers import audit_actions, csrf_token, stored_counts


@pytest.fixture
def manager(app, make_user, login):
    user_id = make_user(name="Helena Peyron")
    client = app.test_client()
    login(client, user_id)
    return user_id, client


def form(**overrides):
    data = {"name": "Lars Berg", "email": "lars@fjord-bio.example", "company": "Fjord Bio AS",
            "phone": "+47 22 33 44 55", "country": "NO", "sector": "biotech", "topic": "establishment",
            "message": "Met at BIO-Europe; looking for lab space.", "language": "en",
            "lawful_basis": "consent", "evidence": "verbal, at BIO-Europe"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(client, **overrides):
    return client.post("/staff/enquiries/new", data={**form(**overrides), "csrf_token": csrf_token(client)})


def test_the_form_is_offered_with_the_author_as_assignee(app, manager):
    user_id, client = manager
    page = client.get("/staff/enquiries/new")
    assert page.status_code == 200
    assert f'<option selected value="{user_id}">' in page.text or f'<option value="{user_id}" selected>' in page.text
    assert 'name="acknowledge"' in page.text and "checked" not in page.text.split('name="acknowledge"')[1][:40]


def test_an_enquiry_recorded_by_hand(app, manager):
    user_id, client = manager
    response = submit(client, assignee_id=str(user_id))
    assert response.status_code == 303
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert response.headers["Location"] == f"/staff/enquiries/{enquiry.reference}"
        assert (enquiry.source, enquiry.assignee_id, enquiry.status) == ("manual", user_id, "new")
        assert enquiry.response_due_at is not None and enquiry.contact.email == "lars@fjord-bio.example"
        consent = db.session.scalar(sa.select(Consent))
        assert (consent.lawful_basis, consent.evidence, consent.method) == (
            "consent", "verbal, at BIO-Europe", "manual")
        kinds = [(a.kind, a.actor_id) for a in db.session.scalars(sa.select(Activity).order_by(Activity.id))]
        assert kinds == [("created", user_id), ("assigned", user_id)]
        # No acknowledgement unless asked for.
        assert db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received")) is None
    assert "enquiry.recorded" in audit_actions(app)
    page = client.get(response.headers["Location"]).text
    assert "How it was obtained: verbal, at BIO-Europe" in page and "recorded by hand" in page


def test_an_acknowledgement_when_asked_for_and_unassigned_when_chosen(app, manager):
    user_id, client = manager
    assert submit(client, assignee_id="", acknowledge="y", lawful_basis="legitimate_interest").status_code == 303
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert enquiry.assignee_id is None
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert ack.recipient == "lars@fjord-bio.example" and enquiry.reference in ack.subject
        assert db.session.scalar(sa.select(Consent.lawful_basis)) == "legitimate_interest"


def test_a_manager_may_hand_it_to_a_colleague(app, manager, make_user):
    user_id, client = manager
    colleague = make_user()
    assert submit(client, assignee_id=str(colleague)).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Enquiry.assignee_id)) == colleague


@pytest.mark.parametrize("overrides, field", [
    ({"email": "not an email"}, "email"), ({"name": ""}, "name"), ({"country": "XX"}, "country"),
    ({"sector": "oil"}, "sector"), ({"lawful_basis": "because"}, "lawful_basis"),
    ({"evidence": "  "}, "evidence"), ({"evidence": "x" * 501}, "evidence"), ({"assignee_id": "999999"}, "assignee_id"),
    ({"assignee_id": "abc"}, "assignee_id"), ({"message": ""}, "message"),
])
def test_bad_input_is_refused_and_nothing_is_stored(app, manager, overrides, field):
    user_id, client = manager
    before = stored_counts(app)
    response = submit(client, **overrides)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert 'value="Lars Berg"' in response.text or overrides.get("name") == ""  # input kept
    assert stored_counts(app) == before


def test_it_needs_the_csrf_token(app, manager):
    user_id, client = manager
    assert client.post("/staff/enquiries/new", data=form()).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 0


def test_anonymous_visitors_go_to_the_login(app):
    client = app.test_client()
    assert client.post("/staff/enquiries/new", data=form()).status_code in (302, 400)
    response = client.get("/staff/enquiries/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 0


def test_an_admin_records_one_too(app, make_user, login):
    admin = make_user(role="admin")
    client = app.test_client()
    login(client, admin)
    assert submit(client, assignee_id=str(admin)).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Enquiry.assignee_id)) == admin
