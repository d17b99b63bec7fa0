"""Every state-changing GDPR route: anonymous → login, managers → 403 and nothing changes."""

import pytest
import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.gdpr.models import DataSubjectRequest, ErasureTombstone, ProcessingRecord
from tests.gdpr.conftest import PERSON
from tests.helpers import count, csrf_token


@pytest.fixture
def gdpr_world(app, person):
    with app.app_context():
        section = ProcessingRecord(position=1, heading="Purposes", body="Answering enquiries.")
        request = DataSubjectRequest(kind="access", subject_hmac="0" * 64, received_on=utcnow().date(),
                                     due_on=utcnow().date())
        db.session.add_all([section, request])
        db.session.commit()
        return {"section": section.id, "request": request.id}


def state(app, ids):
    with app.app_context():
        return (count(app, ErasureTombstone), count(app, DataSubjectRequest),
                db.session.get(DataSubjectRequest, ids["request"]).handled_at,
                db.session.get(ProcessingRecord, ids["section"]).body)


POSTS = [
    ("/admin/gdpr/erase", {"email": PERSON["email"]}),
    ("/admin/gdpr/requests", {"email": PERSON["email"], "kind": "erasure", "received_on": "2026-11-01"}),
    ("/admin/gdpr/requests/{request}/handled", {}),
    ("/admin/gdpr/processing/{section}", {"heading": "Purposes", "body": "Changed."}),
]


@pytest.mark.parametrize("path, data", POSTS, ids=[p for p, _ in POSTS])
@pytest.mark.parametrize("visitor", ["anonymous", "manager", "admin"])
def test_gdpr_posts(app, make_user, login, gdpr_world, path, data, visitor):
    client = app.test_client()
    if visitor != "anonymous":
        login(client, make_user(role=visitor))
    url = path.format(**gdpr_world)
    before = state(app, gdpr_world)
    response = client.post(url, data={**data, "csrf_token": csrf_token(client)})
    expected = {"anonymous": 302, "manager": 403, "admin": 303}[visitor]
    assert response.status_code == expected
    if expected == 303:
        assert state(app, gdpr_world) != before
    else:
        assert state(app, gdpr_world) == before
        assert PERSON["name"] not in response.text


@pytest.mark.parametrize("path", ["/admin/gdpr", "/admin/gdpr?email=" + PERSON["email"],
                                  "/admin/gdpr/consents.csv", "/admin/gdpr/processing", "/admin/gdpr/retention.csv",
                                  "/admin/gdpr/subject.json?email=" + PERSON["email"]])
def test_a_manager_sees_nothing_of_a_person_on_any_gdpr_page(app, manager_client, person, path):
    response = manager_client.get(path)
    assert response.status_code == 403
    assert PERSON["name"] not in response.text and PERSON["email"] not in response.text
    with app.app_context():
        from crm.core.audit import AuditLog

        actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert "access.denied" in actions and "gdpr.subject_exported" not in actions
