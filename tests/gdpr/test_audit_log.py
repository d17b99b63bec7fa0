"""/admin/audit and audit.csv: filters, keyset pages, streaming; the log is append-only."""

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.db import utcnow
from crm.extensions import db
from tests.gdpr.conftest import PERSON
from tests.helpers import count


def add_entries(app, n, **fields):
    with app.app_context():
        for i in range(n):
            db.session.add(AuditLog(action=fields.get("action", "enquiry.viewed"),
                                    target_type=fields.get("target_type", "enquiry"),
                                    target_id=str(fields.get("target_id", i)),
                                    actor_id=fields.get("actor_id"), ip_address="10.0.0.1",
                                    created_at=fields.get("created_at", utcnow())))
        db.session.commit()


def test_the_audit_page_filters_and_pages_by_keyset(app, admin_client):
    add_entries(app, 60, target_id=7)
    add_entries(app, 3, action="gdpr.erased", target_type="erasure_tombstone", target_id=1)
    first = admin_client.get("/admin/audit")
    assert first.status_code == 200 and "Older entries" in first.text
    older = first.text.split('href="')[-1]  # the last link on the page is "Older entries"
    assert "before=" in first.text
    filtered = admin_client.get("/admin/audit?action=gdpr.erased")
    assert filtered.text.count("<td>gdpr.erased</td>") == 3 and "Older entries" not in filtered.text
    by_target = admin_client.get("/admin/audit?target_type=enquiry&target_id=7")
    assert by_target.text.count("<td>enquiry.viewed</td>") == 50
    assert older


def test_date_range_and_actor_filters(app, admin_client, make_user):
    manager = make_user(role="manager")
    add_entries(app, 2, action="old.thing", created_at=utcnow() - timedelta(days=10))
    add_entries(app, 1, action="mine", actor_id=manager)
    today = utcnow().date().isoformat()
    page = admin_client.get(f"/admin/audit?since={today}&until={today}").text
    assert "old.thing" not in page and "<td>mine</td>" in page
    page = admin_client.get(f"/admin/audit?actor={manager}").text
    assert page.count("<td>mine</td>") == 1 and "audit.viewed" not in page


@pytest.mark.parametrize("query", ["actor=abc", "actor=-1", "since=2026-13-01", "before=0",
                                   "action=" + "x" * 61])
def test_unknown_filter_values_answer_400(app, admin_client, query):
    before = count(app, AuditLog)
    assert admin_client.get(f"/admin/audit?{query}").status_code == 400
    assert admin_client.get(f"/admin/audit.csv?{query}").status_code == 400
    assert count(app, AuditLog) == before


def test_audit_csv_streams_every_matching_entry_and_is_audited(app, admin_client, monkeypatch):
    add_entries(app, 7, action="enquiry.viewed")
    response = admin_client.get("/admin/audit.csv?action=enquiry.viewed")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 7 and rows[0]["ip_address"] == "10.0.0.1"
    assert set(rows[0]) == {"id", "created_at", "actor_id", "actor", "action", "target_type",
                            "target_id", "ip_address"}
    with app.app_context():
        last = db.session.scalar(sa.select(AuditLog).order_by(AuditLog.id.desc()))
        assert last.action == "audit.exported"


def test_the_audit_log_cannot_be_changed_or_deleted_through_the_app(app):
    add_entries(app, 1)
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditLog))
        entry.action = "forged"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.scalar(sa.select(AuditLog)))
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
    assert count(app, AuditLog, AuditLog.action == "enquiry.viewed") == 1


def test_audit_entries_never_name_a_person(app, admin_client, person, runner):
    """Search, export, withdrawal, erasure: the log names ids and references only."""
    admin_client.get("/admin/gdpr", query_string={"email": PERSON["email"]})
    admin_client.get("/admin/gdpr/subject.json", query_string={"email": PERSON["email"]})
    admin_client.get("/admin/gdpr/consents.csv").get_data()
    runner.invoke(args=["crm", "gdpr", "erase", "--email", PERSON["email"]])
    with app.app_context():
        rows = db.session.execute(sa.select(AuditLog.action, AuditLog.target_type, AuditLog.target_id)).all()
    actions = [r.action for r in rows]
    for action in ("gdpr.subject_searched", "gdpr.subject_exported", "gdpr.consents_exported",
                   "gdpr.erased"):
        assert action in actions
    text = repr(rows)
    assert PERSON["email"] not in text and "Quintessa" not in text


def test_the_hub_answers_who_looked_at_a_persons_record(app, admin_client, make_user, login, person):
    """The auditor's question: from the person on the hub to who opened their enquiry, and when."""
    import html
    import re

    manager = app.test_client()
    login(manager, make_user(role="admin", name="Helle Auditeret"))
    assert manager.get(f"/staff/enquiries/{person}").status_code == 200
    page = admin_client.get("/admin/gdpr", query_string={"email": PERSON["email"]}).text
    links = [html.unescape(h) for h in re.findall(r'class="who-looked" href="([^"]+)"', page)]
    assert len(links) == 2  # the enquiry's viewers, and the searches and exports of the person
    viewers = admin_client.get(links[0]).text
    assert "Helle Auditeret" in viewers and "<td>enquiry.viewed</td>" in viewers
    assert "<td>gdpr.subject_searched</td>" in admin_client.get(links[1]).text
