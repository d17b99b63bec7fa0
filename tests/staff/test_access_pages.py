"""Access control on every staff and admin page, for every kind of visitor, with exact statuses.

Reading changes nothing but the audit log, so one world (and one logged-in client per visitor)
serves the whole matrix: it lives in this module and is emptied when the module is left.
"""

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.extensions import db
from tests.helpers import count
from tests.staff.test_access import VISITORS, build_world, fill


@pytest.fixture(scope="module")
def read_only_app(database_url):
    """One app and one world for the GET matrix: reading changes nothing but the audit log."""
    from crm import create_app
    from tests.conftest import config_class, empty_database

    app = create_app(config_class(database_url))
    yield app
    empty_database(app)


@pytest.fixture(scope="module")
def read_only_world(read_only_app):
    from crm.staff.services import create_user

    counter = iter(range(1, 100))

    def make_user(role):
        with read_only_app.app_context():
            return create_user(email=f"{role}{next(counter)}@investinaalborg.example", name=role,
                               role=role, password="correct horse battery staple").id

    def login(client, user_id):
        from crm.staff.models import User
        from tests.helpers import hidden_value

        with read_only_app.app_context():
            email = db.session.get(User, user_id).email
        token = hidden_value(client.get("/login").text, "csrf_token")
        assert client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                           "csrf_token": token}).status_code == 303

    return build_world(read_only_app, make_user, login)


# url template → expected status for (anonymous, manager, other manager, admin)
GET_CASES = [
    ("/staff/enquiries", (302, 200, 200, 200)),
    ("/staff/enquiries?assignee=unassigned&status=new", (302, 200, 200, 200)),
    ("/staff/enquiries?status=all&priority=high&sort=response_due&overdue=1", (302, 200, 200, 200)),
    ("/staff/enquiries.csv", (302, 200, 200, 200)),
    ("/staff/enquiries/new", (302, 200, 200, 200)),
    ("/staff/enquiries.csv?assignee=unassigned&sort=follow_up", (302, 200, 200, 200)),
    ("/staff/enquiries/{mine}", (302, 200, 404, 200)),
    ("/staff/enquiries/{unassigned}", (302, 200, 200, 200)),
    ("/staff/enquiries/{missing}", (302, 404, 404, 404)),
    ("/admin/users", (302, 403, 403, 200)),
    ("/admin/users/invite", (302, 403, 403, 200)),
    ("/admin/users/{manager_id}", (302, 403, 403, 200)),
    ("/admin/users/999999", (302, 403, 403, 404)),
    ("/admin/outbox", (302, 403, 403, 200)),
    ("/admin/outbox?status=dead", (302, 403, 403, 200)),
    ("/admin/outbox/{dead_message}", (302, 403, 403, 200)),
    ("/admin/outbox/999999", (302, 403, 403, 404)),
    ("/admin/gdpr", (302, 403, 403, 200)),
    ("/admin/gdpr?email=ada@example.com", (302, 403, 403, 200)),
    ("/admin/gdpr/consents.csv", (302, 403, 403, 200)),
    ("/admin/gdpr/subject.json?email=ada@example.com", (302, 403, 403, 200)),
    ("/admin/gdpr/processing", (302, 403, 403, 200)),
    ("/admin/gdpr/retention.csv", (302, 403, 403, 200)),
    ("/admin/audit", (302, 403, 403, 200)),
    ("/admin/audit?action=login", (302, 403, 403, 200)),
    ("/admin/audit.csv", (302, 403, 403, 200)),
    ("/admin/rules", (302, 403, 403, 200)),
    ("/admin/rules/new", (302, 403, 403, 200)),
    ("/admin/rules/{rule}", (302, 403, 403, 200)),
    ("/admin/rules/999999", (302, 403, 403, 404)),
    ("/admin/rules/preview?sector=medtech&topic=talent&country=DK&language=da&email=a%40b.example",
     (302, 403, 403, 200)),
    ("/account/away", (302, 200, 200, 200)),
    ("/account/password", (302, 200, 200, 200)),
    ("/account/two-factor", (302, 200, 200, 200)),
    ("/staff/dashboard", (302, 200, 200, 200)),
    ("/staff/dashboard?manager={manager_id}", (302, 400, 400, 200)),
    ("/staff/reports/pipeline", (302, 200, 200, 200)),
    ("/staff/reports/pipeline.csv", (302, 200, 200, 200)),
]


@pytest.mark.parametrize("template, expected", GET_CASES, ids=[c[0] for c in GET_CASES])
@pytest.mark.parametrize("visitor", VISITORS)
def test_get_access(read_only_app, read_only_world, template, expected, visitor):
    app = read_only_app
    ids, refs, client_for = read_only_world
    url = fill(template, ids, refs)
    client = client_for(visitor, fresh=False)
    before = count(app, AuditLog, AuditLog.action == "access.denied")
    response = client.get(url)
    status = expected[VISITORS.index(visitor)]
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
    if status in (403, 404) and not url.endswith("999999"):  # (an admin's 404 of a missing row is no refusal)
        # Refusals in the staff area are written to the audit log, by whom and from where.
        with app.app_context():
            entry = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert count(app, AuditLog, AuditLog.action == "access.denied") == before + 1
        assert entry.actor_id == ids[visitor] and entry.ip_address == "127.0.0.1"
    if status == 200:
        assert response.headers["Cache-Control"] == "no-store"


