"""People change: away dates, leaving managers (`flask crm reassign`, the admin page), the CLI rules."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.enquiries.models import Activity, Enquiry
from crm.extensions import db
from crm.staff.models import User
from tests.assignment.helpers import add_rule, set_user, submit, today
from tests.helpers import audit_actions, count, csrf_token, make_enquiry


def assignees(app):
    with app.app_context():
        return dict(db.session.execute(sa.select(Enquiry.reference, Enquiry.assignee_id)).all())


def test_create_user_away_until_keeps_new_work_away(app, runner, make_user):
    result = runner.invoke(args=["crm", "create-user", "--email", "away@investinaalborg.example", "--name", "Away",
                                 "--role", "manager", "--password", "correct horse battery staple",
                                 "--away-until", (today(app) + timedelta(days=7)).isoformat()])
    assert result.exit_code == 0, result.output
    present = make_user(role="manager")
    with app.app_context():
        away = db.session.scalar(sa.select(User).where(User.email == "away@investinaalborg.example"))
        assert away.away_until == today(app) + timedelta(days=7)
    assert {submit(app)[1] for _ in range(3)} == {present}
    bad = runner.invoke(args=["crm", "create-user", "--email", "x@investinaalborg.example", "--name", "X",
                              "--role", "manager", "--password", "correct horse battery staple",
                              "--away-until", "next week"])
    assert bad.exit_code != 0 and count(app, User) == 2


def test_a_manager_sets_their_own_away_date_on_account(app, make_user, login):
    manager, other = make_user(role="manager"), make_user(role="manager")
    client = app.test_client()
    login(client, manager)
    assert client.get("/account/away").status_code == 200
    until = today(app) + timedelta(days=3)
    response = client.post("/account/away", data={"away_until": until.isoformat(), "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, manager).away_until == until
    assert "user.away_set" in audit_actions(app)
    assert {submit(app)[1] for _ in range(3)} == {other}
    bad = client.post("/account/away", data={"away_until": "31/12/2030", "csrf_token": csrf_token(client)})
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.get(User, manager).away_until == until
    assert client.post("/account/away", data={"away_until": "", "csrf_token": csrf_token(client)}).status_code == 303
    with app.app_context():
        assert db.session.get(User, manager).away_until is None


def test_reassign_without_to_spreads_by_the_engine_and_never_back(app, runner, make_user):
    leaving = make_user(role="manager", email="leaving@investinaalborg.example")
    a, b = make_user(role="manager"), make_user(role="manager")
    refs = [make_enquiry(app, assignee_id=leaving) for _ in range(4)]
    closed = make_enquiry(app, assignee_id=leaving, status="won")
    result = runner.invoke(args=["crm", "reassign", "--from", "leaving@investinaalborg.example"])
    assert result.exit_code == 0, result.output
    assert "Moved 4 open enquiries from leaving@investinaalborg.example." in result.output
    now = assignees(app)
    assert sorted(now[r] for r in refs) == sorted([a, a, b, b]) and now[closed] == leaving
    with app.app_context():
        details = db.session.scalars(sa.select(Activity.details).where(Activity.kind == "assigned")).all()
    assert {d["reason"] for d in details} == {"reassigned"} and {d["from"] for d in details} == {leaving}
    assert "enquiries.reassigned" in audit_actions(app)


def test_reassign_to_a_named_colleague_and_bad_names_change_nothing(app, runner, make_user):
    leaving = make_user(role="manager", email="leaving@investinaalborg.example")
    target = make_user(role="manager", email="heir@investinaalborg.example")
    inactive = make_user(role="manager", email="gone@investinaalborg.example")
    set_user(app, inactive, active=False)
    refs = [make_enquiry(app, assignee_id=leaving) for _ in range(2)]
    for args in (["--to", "nobody@investinaalborg.example"], ["--to", "gone@investinaalborg.example"],
                 ["--to", "leaving@investinaalborg.example"], ["--to", "not an email"]):
        result = runner.invoke(args=["crm", "reassign", "--from", "leaving@investinaalborg.example", *args])
        assert result.exit_code == 1 and "--to" in result.output
        assert set(assignees(app).values()) == {leaving}
    assert runner.invoke(args=["crm", "reassign", "--from", "who@example.com"]).exit_code == 1
    result = runner.invoke(args=["crm", "reassign", "--from", "leaving@investinaalborg.example",
                                 "--to", "heir@investinaalborg.example"])
    assert result.exit_code == 0 and "2\t→ heir@investinaalborg.example" in result.output
    assert {assignees(app)[r] for r in refs} == {target}


def test_reassign_when_nobody_can_take_them_returns_them_to_the_shared_queue(app, runner, make_user):
    leaving = make_user(role="manager", email="leaving@investinaalborg.example")
    reference = make_enquiry(app, assignee_id=leaving)
    result = runner.invoke(args=["crm", "reassign", "--from", "leaving@investinaalborg.example"])
    assert result.exit_code == 0 and "unassigned" in result.output
    assert assignees(app)[reference] is None


def test_an_admin_moves_a_leaving_managers_enquiries_from_their_page(app, make_user, login):
    admin, leaving, heir = make_user(role="admin"), make_user(role="manager"), make_user(role="manager")
    refs = [make_enquiry(app, assignee_id=leaving) for _ in range(2)]
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/admin/users/{leaving}")
    assert "has 2 open enquiries" in page.text and "Move their open enquiries" in page.text
    for bad in ("999999", "abc", str(leaving)):
        response = client.post(f"/admin/users/{leaving}/reassign",
                               data={"to_id": bad, "csrf_token": csrf_token(client)})
        assert response.status_code == 422
        assert {assignees(app)[r] for r in refs} == {leaving}
    response = client.post(f"/admin/users/{leaving}/reassign", data={"to_id": "", "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and {assignees(app)[r] for r in refs} == {heir}
    assert "has no open enquiries" in client.get(f"/admin/users/{leaving}").text


def test_flask_crm_rule_add_and_list(app, runner, make_user):
    make_user(role="manager", email="helena@investinaalborg.example", name="Helena Peyron")
    result = runner.invoke(args=["crm", "rule", "add", "--to", "helena@investinaalborg.example", "--sector",
                                 "medtech,biotech", "--country", "se,no", "--priority", "5"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["crm", "rule", "list"]).output
    assert "priority 5\tenabled\tsector medtech,biotech; topic any; country SE,NO\t→ helena@investinaalborg.example" \
        in listing
    # Helena gets every medtech enquiry from Sweden while present.
    assert submit(app, sector="medtech", country="SE")[2]["reason"] == "rule"


@pytest.mark.parametrize("args, message", [
    (["--to", "nobody@investinaalborg.example"], "no staff account"),
    (["--to", "helena@investinaalborg.example", "--sector", "fintech"], "Unknown: fintech"),
    (["--to", "helena@investinaalborg.example", "--country", "ZZ"], "Unknown: ZZ"),
    (["--to", "helena@investinaalborg.example", "--topic", "talent", "--sector", "pharma"], "exactly these"),
])
def test_flask_crm_rule_add_refuses_bad_input_and_stores_nothing(app, runner, make_user, args, message):
    helena = make_user(role="manager", email="helena@investinaalborg.example")
    add_rule(app, to=helena, sectors=["pharma"], topics=["talent"])
    result = runner.invoke(args=["crm", "rule", "add", *args])
    assert result.exit_code == 1 and message in result.output
    assert runner.invoke(args=["crm", "rule", "list"]).output.count("priority") == 1


def test_away_until_is_a_local_calendar_day(app, make_user):
    manager = make_user(role="manager")
    set_user(app, manager, away_until=date(2000, 1, 1))
    assert submit(app)[1] == manager
