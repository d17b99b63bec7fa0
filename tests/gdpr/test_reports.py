"""The GDPR hub, the consent register, subject access, requests and the Art. 30 record."""

import csv
import io
import json
from datetime import date, timedelta

import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.core.db import utcnow
from crm.extensions import db
from crm.gdpr.models import DataSubjectRequest, ProcessingRecord
from crm.gdpr.requests import one_month_after
from tests.gdpr.conftest import PERSON, submit
from tests.helpers import audit_actions, count, csrf_token, make_enquiry


def test_the_consent_register_has_the_contract_columns_and_is_streamed(app, admin_client, person):
    response = admin_client.get("/admin/gdpr/consents.csv")

    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["reference", "email", "name", "given_at", "policy_version", "policy_sha256",
                       "method", "ip_address", "withdrawn_at"]
    (row,) = rows[1:]
    assert row[:3] == [person, PERSON["email"], PERSON["name"]]
    assert row[3].endswith("Z") and date.fromisoformat(row[3][:10]) == utcnow().date()
    assert row[4:] [0] == "2026-01" and len(row[5]) == 64 and row[6] == "api"
    assert row[7] == "127.0.0.1" and row[8] == ""
    assert audit_actions(app)[-1] == "gdpr.consents_exported"


def test_the_consent_register_neutralises_formula_cells(app, admin_client):
    for name in ("=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "Plain"):
        make_enquiry(app, name=name)
    rows = list(csv.reader(io.StringIO(admin_client.get("/admin/gdpr/consents.csv").text)))
    names = sorted(r[2] for r in rows[1:])
    assert names == sorted(["'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)", "'\tTab",
                            "'\rCR", "Plain"])


def test_the_register_streams_in_batches_across_keyset_pages(app, admin_client, monkeypatch):
    from crm.gdpr import exports

    monkeypatch.setattr(exports, "BATCH", 3)
    refs = {make_enquiry(app) for _ in range(8)}
    rows = list(csv.reader(io.StringIO(admin_client.get("/admin/gdpr/consents.csv").text)))
    assert {r[0] for r in rows[1:]} == refs and len(rows) == 9


def test_subject_json_is_the_commands_json_as_a_download(app, admin_client, runner, person):
    response = admin_client.get("/admin/gdpr/subject.json", query_string={"email": PERSON["email"]})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="subject.json"'
    data = json.loads(response.text)
    from_cli = json.loads(runner.invoke(args=["crm", "gdpr", "export", "--email", PERSON["email"]]).output)
    assert data == from_cli
    assert data["contact"]["name"] == PERSON["name"]
    assert [e["message"] for e in data["enquiries"]] == [PERSON["message"]]
    assert [n["details"]["body"] for n in data["notes"]] == [f"Called {PERSON['name']} on {PERSON['phone']}"]
    assert {e["kind"] for e in data["emails"]} == {"enquiry_received", "reply"}
    assert data["api_requests"][0]["reference"] == person
    info = data["information"]
    for key in ("purposes", "categories", "recipients", "retention", "rights", "source"):
        assert info[key]
    assert audit_actions(app).count("gdpr.subject_exported") == 2
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "gdpr.subject_exported")).first()
        assert entry.target_type == "contact" and entry.ip_address == "127.0.0.1"


def test_subject_json_of_an_unknown_or_erased_person_is_empty(app, admin_client, runner, person):
    unknown = json.loads(admin_client.get("/admin/gdpr/subject.json?email=nobody@example.com").text)
    assert unknown["contact"] is None and unknown["erased"] is False
    assert unknown["enquiries"] == unknown["consents"] == unknown["notes"] == unknown["emails"] == []
    runner.invoke(args=["crm", "gdpr", "erase", "--email", PERSON["email"]])
    erased = json.loads(admin_client.get(f"/admin/gdpr/subject.json?email={PERSON['email']}").text)
    assert erased["contact"] is None and erased["erased"] is True and erased["timeline"] == []
    # The placeholder that erased enquiries hang on is nobody's data.
    anon = json.loads(admin_client.get("/admin/gdpr/subject.json?email=erased@anonymous.invalid").text)
    assert anon["contact"] is None and anon["enquiries"] == []


def test_subject_json_without_an_email_is_a_400(app, admin_client):
    assert admin_client.get("/admin/gdpr/subject.json").status_code == 400


def test_one_month_after():
    assert one_month_after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert one_month_after(date(2026, 12, 15)) == date(2027, 1, 15)
    assert one_month_after(date(2028, 1, 30)) == date(2028, 2, 29)


def test_requests_are_logged_with_their_due_date_and_overdue_ones_stand_out(app, admin_client):
    token = csrf_token(admin_client, "/admin/gdpr")
    old = (utcnow().date() - timedelta(days=40)).isoformat()
    response = admin_client.post("/admin/gdpr/requests", data={
        "email": PERSON["email"], "kind": "access", "received_on": old, "csrf_token": token})
    assert response.status_code == 303
    admin_client.post("/admin/gdpr/requests", data={
        "email": "b@example.com", "kind": "erasure", "received_on": utcnow().date().isoformat(),
        "csrf_token": token})
    page = admin_client.get("/admin/gdpr").text
    due = one_month_after(date.fromisoformat(old)).isoformat()
    assert f"Overdue: {due}" in page and page.count("Overdue:") == 1
    with app.app_context():
        first = db.session.scalars(sa.select(DataSubjectRequest).order_by(DataSubjectRequest.id)).first()
        assert first.due_on.isoformat() == due and PERSON["email"] not in first.subject_hmac
        first_id = first.id
    assert admin_client.post(f"/admin/gdpr/requests/{first_id}/handled",
                             data={"csrf_token": token}).status_code == 303
    page = admin_client.get("/admin/gdpr").text
    assert "Overdue:" not in page and "Mark answered" in page  # the second one still waits
    assert "gdpr.request_logged" in audit_actions(app) and "gdpr.request_handled" in audit_actions(app)


def test_a_request_in_the_future_or_of_an_unknown_kind_is_refused(app, admin_client):
    token = csrf_token(admin_client, "/admin/gdpr")
    future = (utcnow().date() + timedelta(days=2)).isoformat()
    for data in ({"kind": "access", "received_on": future}, {"kind": "deletion", "received_on": "2026-11-01"},
                 {"kind": "access", "received_on": ""}):
        response = admin_client.post("/admin/gdpr/requests", data={
            **data, "email": PERSON["email"], "csrf_token": token})
        assert response.status_code == 422
    assert count(app, DataSubjectRequest) == 0
    assert admin_client.post("/admin/gdpr/requests/999999/handled",
                             data={"csrf_token": token}).status_code == 404


def test_the_record_of_processing_is_shown_and_edited(app, admin_client):
    with app.app_context():
        section = ProcessingRecord(position=1, heading="Recipients", body="Managers and admins.")
        db.session.add(section)
        db.session.commit()
        section_id = section.id
    page = admin_client.get("/admin/gdpr/processing")
    assert page.status_code == 200 and "Managers and admins." in page.text
    token = csrf_token(admin_client, "/admin/gdpr/processing")
    bad = admin_client.post(f"/admin/gdpr/processing/{section_id}",
                            data={"heading": "Recipients", "body": "", "csrf_token": token})
    assert bad.status_code == 422
    ok = admin_client.post(f"/admin/gdpr/processing/{section_id}",
                           data={"heading": "Recipients", "body": "Managers, admins, mail provider.",
                                 "csrf_token": token})
    assert ok.status_code == 303
    assert "Managers, admins, mail provider." in admin_client.get("/admin/gdpr/processing").text
    assert "gdpr.processing_record_updated" in audit_actions(app)


def test_the_migration_seeds_the_record_of_processing(make_app, tmp_path):
    import os

    from flask_migrate import upgrade

    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/fresh.sqlite3")
    with app.app_context():
        upgrade(directory=os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))
        headings = db.session.scalars(sa.select(ProcessingRecord.heading)).all()
        db.session.remove()
        db.engine.dispose()
    assert {"Purposes", "Categories of personal data", "Recipients", "Retention",
            "Security measures"} <= set(headings)


def test_the_hub_shows_the_register_summary_and_is_audited(app, admin_client, person):
    submit(app.test_client(), email="b@example.com", name="Bo", phone="+45 22 22 22 22")
    page = admin_client.get("/admin/gdpr")
    assert page.status_code == 200 and "Retention has never run" in page.text
    assert "<td>2026-01</td><td>2</td><td>2</td><td>0</td>" in page.text
    assert audit_actions(app)[-1] == "gdpr.hub_viewed"
