"""Inbox search (`q`), overdue follow-ups, and the audit of every look at personal data."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.db import utcnow
from crm.enquiries.models import Enquiry
from crm.extensions import db
from tests.helpers import make_enquiry


@pytest.fixture
def admin_client(app, client, make_user, login):
    login(client, make_user(role="admin"))
    return client


def listed(client, **args):
    html = client.get("/staff/enquiries", query_string=args).get_data(as_text=True)
    return html


def test_q_finds_by_name_email_company_and_reference_case_insensitively(app, admin_client):
    ada = make_enquiry(app, name="Ada Jensen", email="ada@nordic.example")
    bo = make_enquiry(app, name="Bo Ærø", email="bo@fjord.example")
    assert ada in listed(admin_client, q="jensen") and bo not in listed(admin_client, q="jensen")
    assert bo in listed(admin_client, q="FJORD.example") and ada not in listed(admin_client, q="fjord")
    assert bo in listed(admin_client, q=bo.lower()) and ada not in listed(admin_client, q=bo)
    assert ada in listed(admin_client, q="Nordic Implants")


def test_q_treats_like_wildcards_as_text(app, admin_client):
    ada = make_enquiry(app, name="Ada Jensen")
    assert ada not in listed(admin_client, q="%")
    assert ada not in listed(admin_client, q="A_a")


def test_q_does_not_widen_what_a_manager_may_see(app, client, make_user, login):
    manager, other = make_user(), make_user()
    theirs = make_enquiry(app, name="Shared Name", assignee_id=other)
    mine = make_enquiry(app, name="Shared Name", assignee_id=manager)
    login(client, manager)
    html = listed(client, q="Shared")
    assert mine in html and theirs not in html


def test_overdue_lists_open_enquiries_whose_follow_up_date_has_passed(app, admin_client):
    late, future, closed, none = (make_enquiry(app) for _ in range(4))
    today = utcnow().date()
    with app.app_context():
        for reference, due, status in ((late, today - timedelta(days=1), "contacted"),
                                       (future, today + timedelta(days=3), "contacted"),
                                       (closed, today - timedelta(days=5), "won")):
            enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
            enquiry.next_follow_up_on, enquiry.status = due, status
        db.session.commit()
    html = listed(admin_client, overdue="1")
    assert late in html
    assert all(ref not in html for ref in (future, closed, none))
    assert all(ref in listed(admin_client, status="all") for ref in (late, future, closed, none))


@pytest.mark.parametrize("args", [{"overdue": "yes"}, {"q": "x" * 201}])
def test_nonsense_search_values_answer_400(admin_client, args):
    assert admin_client.get("/staff/enquiries", query_string=args).status_code == 400


def test_viewing_the_inbox_and_an_enquiry_is_audited_without_personal_data(app, admin_client):
    reference = make_enquiry(app, name="Ada Jensen", email="ada@audit.example")
    admin_client.get("/staff/enquiries")
    admin_client.get(f"/staff/enquiries/{reference}")
    with app.app_context():
        rows = db.session.execute(sa.select(AuditLog.action, AuditLog.target_type, AuditLog.target_id)
                                  .where(AuditLog.action.in_(["enquiries.listed", "enquiry.viewed"]))
                                  .order_by(AuditLog.id)).all()
        enquiry_id = db.session.scalar(sa.select(Enquiry.id).where(Enquiry.reference == reference))
        dump = " ".join(str(v) for row in db.session.execute(sa.select(AuditLog)).scalars()
                        for v in vars(row).values())
    assert [tuple(r) for r in rows] == [("enquiries.listed", None, None),
                                        ("enquiry.viewed", "enquiry", str(enquiry_id))]
    assert "ada@audit.example" not in dump and "Ada Jensen" not in dump
