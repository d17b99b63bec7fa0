"""The actions of the enquiry page: each one's effect, its timeline and audit rows, and bad input
answered with 422 and nothing changed."""

from datetime import date

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.enquiries.models import Activity, Consent, Enquiry
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from tests.helpers import audit_actions, count, csrf_token, make_enquiry


@pytest.fixture
def manager(app, make_user, login):
    user_id = make_user(name="Helena Peyron", title="Senior Investment Manager",
                        email="helena.peyron@investinaalborg.example")
    client = app.test_client()
    login(client, user_id)
    return user_id, client


def post(client, reference, action, **data):
    return client.post(f"/staff/enquiries/{reference}/{action}", data={**data, "csrf_token": csrf_token(client)})


def load(app, reference):
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        db.session.expunge(enquiry)
        return enquiry


def activities(app, reference, kind=None):
    with app.app_context():
        query = sa.select(Activity).join(Enquiry).where(Enquiry.reference == reference)
        if kind:
            query = query.where(Activity.kind == kind)
        rows = db.session.scalars(query.order_by(Activity.id)).all()
        db.session.expunge_all()
        return rows


def snapshot(app, reference):
    """Everything an action may change: the enquiry's columns, its timeline, outbox and audit."""
    enquiry = load(app, reference)
    columns = {c.key: getattr(enquiry, c.key) for c in sa.inspect(Enquiry).mapper.column_attrs}
    return columns, len(activities(app, reference)), count(app, OutboxMessage), count(
        app, AuditLog, AuditLog.action.like("enquiry.%"))


def test_status_change_writes_from_to_audit_and_first_response(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    response = post(client, reference, "status", status="contacted", reason="information pack sent")
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/enquiries/{reference}"
    enquiry = load(app, reference)
    assert enquiry.status == "contacted" and enquiry.first_response_at is not None
    assert enquiry.closed_at is None
    [entry] = activities(app, reference, "status_changed")
    assert entry.actor_id == user_id
    assert entry.details == {"from": "new", "to": "contacted", "reason": "information pack sent"}
    assert audit_actions(app)[-1] == "enquiry.status_changed"
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "Status: new → contacted (information sent) (information pack sent)" in page
    assert "Helena Peyron" in page


def test_lost_requires_a_reason_and_closing_sets_closed_at(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    response = post(client, reference, "status", status="lost", reason="  ")
    assert response.status_code == 422 and "Say why the enquiry was lost." in response.text
    assert snapshot(app, reference) == before
    assert post(client, reference, "status", status="lost", reason="Chose Hamburg").status_code == 303
    enquiry = load(app, reference)
    assert enquiry.status == "lost" and enquiry.lost_reason == "Chose Hamburg" and enquiry.closed_at
    # Reopening clears both.
    assert post(client, reference, "status", status="qualified").status_code == 303
    enquiry = load(app, reference)
    assert enquiry.closed_at is None and enquiry.lost_reason is None


def test_spam_is_no_response_and_leaves_the_default_inbox(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, "status", status="spam").status_code == 303
    enquiry = load(app, reference)
    assert enquiry.first_response_at is None and enquiry.closed_at is not None
    assert reference not in client.get("/staff/enquiries").text
    assert reference in client.get("/staff/enquiries?status=spam").text


@pytest.mark.parametrize("data", [{"status": "bogus"}, {"status": ""}, {"status": "WON"},
                                  {"status": "lost"}, {"status": "won", "reason": "x" * 501}])
def test_bad_status_input_changes_nothing(app, manager, data):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    assert post(client, reference, "status", **data).status_code == 422
    assert snapshot(app, reference) == before


def at(text):
    """A clock frozen at `text` (UTC) for the services."""
    from datetime import UTC, datetime

    return lambda: datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_won_is_landed_and_starts_aftercare(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, "status", status="won").status_code == 303
    with app.app_context():
        from crm.triage.actions import aftercare_date
        expected = aftercare_date()
    assert load(app, reference).next_follow_up_on == expected
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "won (landed)" in page and f"aftercare follow-up set for {expected.isoformat()}" in page


def test_aftercare_dates_with_a_frozen_clock(app, make_user):
    from crm.staff.models import User
    from crm.triage.actions import change_status, complete_follow_up

    user_id = make_user()
    reference = make_enquiry(app, assignee_id=user_id)
    with app.app_context():
        actor = db.session.get(User, user_id)
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        change_status(enquiry, "won", "", actor, clock=at("2026-08-30 10:00"))
        assert enquiry.next_follow_up_on == date(2027, 2, 28)  # six months ahead, clamped
        # 23:30 UTC on 28 February is already 1 March in Copenhagen: six months after that.
        complete_follow_up(enquiry, actor, clock=at("2027-02-28 23:30"))
        assert enquiry.next_follow_up_on == date(2027, 9, 1)
    [done] = activities(app, reference, "follow_up_done")
    assert done.details == {"was": "2027-02-28", "to": "2027-09-01", "aftercare": True}
    assert "enquiry.follow_up_done" in audit_actions(app)


def test_aftercare_months_come_from_the_config(make_app, make_user):
    from crm.staff.models import User
    from crm.triage.actions import change_status

    app = make_app(CRM_AFTERCARE_MONTHS=3)
    user_id = make_user()
    reference = make_enquiry(app, assignee_id=user_id)
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        change_status(enquiry, "won", "", db.session.get(User, user_id), clock=at("2026-11-27 10:00"))
        assert enquiry.next_follow_up_on == date(2027, 2, 27)


def test_the_done_button_on_a_landed_investment_plans_the_next_aftercare(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    post(client, reference, "status", status="won")
    post(client, reference, "follow-up", due="2026-01-05")
    assert "Follow-up overdue" in client.get(f"/staff/enquiries/{reference}").text
    assert post(client, reference, "follow-up", done="y").status_code == 303
    with app.app_context():
        from crm.triage.actions import aftercare_date
        assert load(app, reference).next_follow_up_on == aftercare_date()


def test_a_note_keeps_its_line_breaks_escaped(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    body = "Called the CFO.\n<script>alert(1)</script>\nNext: site visit"
    assert post(client, reference, "notes", body=body).status_code == 303
    [note] = activities(app, reference, "note")
    assert note.details == {"body": body} and note.actor_id == user_id
    assert load(app, reference).first_response_at is None  # no "contacted" in it
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "Called the CFO.<br>\n&lt;script&gt;alert(1)&lt;/script&gt;<br>\nNext: site visit" in page
    assert "<script>alert(1)" not in page
    assert audit_actions(app)[-2] == "enquiry.note_added"  # (the last one: the page view)


def test_a_note_saying_contacted_is_the_first_response_and_only_the_first_counts(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, "notes", body="Contacted by phone").status_code == 303
    first = load(app, reference).first_response_at
    assert first is not None
    post(client, reference, "notes", body="contacted again")
    post(client, reference, "status", status="contacted")
    post(client, reference, "reply", subject="s", body="b")
    assert load(app, reference).first_response_at == first


@pytest.mark.parametrize("action, data, responds", [
    ("status", {"status": "contacted"}, True), ("status", {"status": "qualified"}, True),
    ("status", {"status": "spam"}, False), ("notes", {"body": "Left a voicemail"}, False),
    ("notes", {"body": "CONTACTED via LinkedIn"}, True), ("reply", {"subject": "s", "body": "b"}, True),
    ("priority", {"priority": "high"}, False), ("follow-up", {"due": "2026-12-01"}, False),
])
def test_what_counts_as_the_first_response(app, manager, action, data, responds):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, action, **data).status_code == 303
    assert (load(app, reference).first_response_at is not None) is responds


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * 10_001])
def test_an_empty_or_huge_note_changes_nothing(app, manager, body):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    response = post(client, reference, "notes", body=body)
    assert response.status_code == 422 and 'class="error"' in response.text
    assert snapshot(app, reference) == before


def test_follow_up_set_changed_and_cleared(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, "follow-up", due="2026-12-01").status_code == 303
    assert load(app, reference).next_follow_up_on == date(2026, 12, 1)
    assert post(client, reference, "follow-up", due="2026-12-08").status_code == 303
    assert post(client, reference, "follow-up", due="").status_code == 303
    assert load(app, reference).next_follow_up_on is None
    assert [a.details for a in activities(app, reference, "follow_up_set")] == [
        {"from": None, "to": "2026-12-01"}, {"from": "2026-12-01", "to": "2026-12-08"},
        {"from": "2026-12-08", "to": None}]
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "Next follow-up: 2026-12-01 → 2026-12-08" in page and "Next follow-up: 2026-12-08 → none" in page


@pytest.mark.parametrize("due", ["tomorrow", "2026-13-01", "2026-02-30", "01/12/2026", "２０２６-12-01",
                                 "99999-01-01", "1900-01-01", "2026-12-01T10:00"])
def test_a_follow_up_that_is_not_a_date_changes_nothing(app, manager, due):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    response = post(client, reference, "follow-up", due=due)
    assert response.status_code == 422 and "Give a date such as 2026-12-01" in response.text
    assert snapshot(app, reference) == before


def test_follow_up_done_without_a_follow_up_is_refused(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    assert post(client, reference, "follow-up", done="y").status_code == 422
    assert snapshot(app, reference) == before


def test_follow_up_done_on_an_open_enquiry_clears_it(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    post(client, reference, "follow-up", due="2026-12-01")
    assert post(client, reference, "follow-up", done="y").status_code == 303
    assert load(app, reference).next_follow_up_on is None


def test_priority(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    assert post(client, reference, "priority", priority="high").status_code == 303
    assert load(app, reference).priority == "high"
    [entry] = activities(app, reference, "priority_changed")
    assert entry.details == {"from": "normal", "to": "high"}
    assert "Priority: normal → high" in client.get(f"/staff/enquiries/{reference}").text
    before = snapshot(app, reference)
    for bad in ("urgent", "", "HIGH"):
        assert post(client, reference, "priority", priority=bad).status_code == 422
    assert snapshot(app, reference) == before


def test_project_facts(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    response = post(client, reference, "project", project_type="greenfield", planned_jobs="40",
                    planned_capex_eur="12 000 000", realised_jobs="", realised_capex_eur="")
    assert response.status_code == 303
    enquiry = load(app, reference)
    assert (enquiry.project_type, enquiry.planned_jobs, enquiry.planned_capex_eur, enquiry.realised_jobs) == (
        "greenfield", 40, 12_000_000, None)
    [entry] = activities(app, reference, "project_updated")
    assert entry.details == {"changes": {"project_type": [None, "greenfield"], "planned_jobs": [None, 40],
                                         "planned_capex_eur": [None, 12_000_000]}}
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "planned jobs: none → 40" in page and "EUR 12,000,000" in page
    # The largest sensible values are accepted.
    assert post(client, reference, "project", project_type="greenfield", planned_jobs="1000000",
                planned_capex_eur=str(10**12)).status_code == 303


@pytest.mark.parametrize("field, value", [
    ("planned_jobs", "-1"), ("planned_jobs", "1000001"), ("planned_jobs", "1.5"), ("planned_jobs", "1e3"),
    ("planned_jobs", "٣"), ("realised_jobs", "ten"), ("planned_capex_eur", str(10**12 + 1)),
    ("realised_capex_eur", "9" * 40), ("project_type", "mining"), ("planned_jobs", "+5"),
])
def test_bad_project_facts_change_nothing(app, manager, field, value):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    response = post(client, reference, "project", **{"project_type": "expansion", field: value})
    assert response.status_code == 422 and 'class="error"' in response.text
    assert snapshot(app, reference) == before


def test_a_reply_is_queued_with_reply_to_the_manager(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id, email="ada@example.com")
    page = client.get(f"/staff/enquiries/{reference}").text
    assert f'value="Your enquiry {reference}"' in page  # the subject is prefilled
    response = post(client, reference, "reply", subject=f"Your enquiry {reference}",
                    body="Dear Ada,\nwe would be glad to show you Aalborg.")
    assert response.status_code == 303
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.recipient == "ada@example.com" and message.kind == "enquiry_reply"
        assert message.reply_to == "helena.peyron@investinaalborg.example"
        assert message.subject == f"Your enquiry {reference}"
        assert "we would be glad to show you Aalborg." in message.text and "Helena Peyron" in message.text
        assert "Dear Ada,<br>\nwe would be glad" in message.html
        message_id = message.id
    enquiry = load(app, reference)
    assert enquiry.first_response_at is not None
    [entry] = activities(app, reference, "email_queued")
    assert entry.details == {"kind": "enquiry_reply", "to": "prospect", "subject": f"Your enquiry {reference}",
                             "outbox_id": message_id}
    assert audit_actions(app)[-1] == "enquiry.replied"
    assert "Reply emailed to the prospect: “Your enquiry" in client.get(f"/staff/enquiries/{reference}").text


@pytest.mark.parametrize("data", [{"subject": "Hello", "body": "  "}, {"subject": "", "body": "Hello"},
                                  {"subject": "x" * 201, "body": "Hello"}])
def test_an_empty_reply_is_refused(app, manager, data):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    assert post(client, reference, "reply", **data).status_code == 422
    assert snapshot(app, reference) == before


def test_no_reply_to_a_person_who_withdrew_consent(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id, email="gone@example.com")
    with app.app_context():
        from crm.core.db import utcnow
        consent = db.session.scalar(sa.select(Consent).join(Enquiry).where(Enquiry.reference == reference))
        # An older consent of the same person, withdrawn: no email may go to them at all.
        db.session.add(Consent(contact_id=consent.contact_id, policy_version="2026-01",
                               policy_sha256=consent.policy_sha256, method="form", withdrawn_at=utcnow()))
        db.session.commit()
    before = snapshot(app, reference)
    response = post(client, reference, "reply", subject="Hello", body="Are you still interested?")
    assert response.status_code == 422 and "withdrew their consent" in response.text
    assert snapshot(app, reference) == before


def test_no_reply_to_an_erased_person(app, manager):
    from crm.core.db import utcnow
    from crm.gdpr.models import ErasureTombstone
    from crm.gdpr.services import email_hmac

    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id, email="erased@example.com")
    with app.app_context():
        db.session.add(ErasureTombstone(email_hmac=email_hmac("erased@example.com"), reason="request",
                                        erased_at=utcnow()))
        db.session.commit()
    before = snapshot(app, reference)
    response = post(client, reference, "reply", subject="Hello", body="Still there?")
    assert response.status_code == 422 and "erased" in response.text
    assert snapshot(app, reference) == before


def test_the_reply_reaches_the_prospect_with_reply_to(smtp_app, smtp_server, make_user, login):
    from crm.notifications.worker import run_once

    app = smtp_app
    user_id = make_user(email="helena.peyron@investinaalborg.example", name="Helena Peyron")
    client = app.test_client()
    login(client, user_id)
    reference = make_enquiry(app, assignee_id=user_id, email="ada@example.com")
    assert post(client, reference, "reply", subject="Site visit in Aalborg", body="Dear Ada").status_code == 303
    with app.app_context():
        run_once()
    [received] = smtp_server.messages
    assert received["to"] == ["ada@example.com"]
    assert received["message"]["Subject"] == "Site visit in Aalborg"
    assert received["message"]["Reply-To"] == "helena.peyron@investinaalborg.example"
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "Reply emailed to the prospect: sent" in page


def test_a_manager_gets_404_for_another_managers_enquiry_and_nothing_changes(app, make_user, login):
    owner, other = make_user(), make_user()
    client = app.test_client()
    login(client, other)
    reference = make_enquiry(app, assignee_id=owner)
    before = snapshot(app, reference)
    for action, data in [("status", {"status": "contacted"}), ("notes", {"body": "hi"}),
                         ("follow-up", {"due": "2026-12-01"}), ("priority", {"priority": "high"}),
                         ("project", {"planned_jobs": "3"}), ("reply", {"subject": "s", "body": "b"})]:
        assert post(client, reference, action, **data).status_code == 404, action
    assert snapshot(app, reference)[:3] == before[:3]


def test_actions_need_the_csrf_token(app, manager):
    user_id, client = manager
    reference = make_enquiry(app, assignee_id=user_id)
    before = snapshot(app, reference)
    assert client.post(f"/staff/enquiries/{reference}/status", data={"status": "won"}).status_code == 400
    assert snapshot(app, reference) == before
