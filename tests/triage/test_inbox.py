"""The inbox: newest first, 25 a page without counting the table, filters, and who sees what."""

from datetime import timedelta

import pytest

from crm.core.db import utcnow
from crm.extensions import db
from tests.helpers import make_enquiry


@pytest.fixture
def people(app, make_user, login):
    ids = {"manager": make_user(), "other": make_user(), "admin": make_user(role="admin")}
    clients = {}
    for name in ("manager", "admin"):
        clients[name] = app.test_client()
        login(clients[name], ids[name])
    return ids, clients


def references_on(page):
    import re

    return re.findall(r'href="/staff/enquiries/(AAL-[0-9A-Z]{4}-[0-9A-Z]{4})"', page.text)


def test_newest_first_25_a_page_and_a_page_past_the_end_is_empty(app, people):
    ids, clients = people
    start = utcnow() - timedelta(days=1)
    refs = [make_enquiry(app, created_at=start + timedelta(minutes=i)) for i in range(27)]
    newest_first = refs[::-1]
    first = clients["admin"].get("/staff/enquiries")
    assert references_on(first) == newest_first[:25]
    assert 'rel="next" href="/staff/enquiries?page=2"' in first.text and 'rel="prev"' not in first.text
    second = clients["admin"].get("/staff/enquiries?page=2")
    assert references_on(second) == newest_first[25:]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text
    past = clients["admin"].get("/staff/enquiries?page=9")
    assert past.status_code == 200 and references_on(past) == [] and "No enquiries here." in past.text


def test_the_inbox_never_counts_the_table(app, people):
    from sqlalchemy import event

    ids, clients = people
    for _ in range(3):
        make_enquiry(app)
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement.lower())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        clients["admin"].get("/staff/enquiries?status=new")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    inbox = [s for s in statements if "from enquiries" in s]
    assert inbox and not any("count(" in s for s in inbox)
    assert any("limit" in s for s in inbox)


def test_a_manager_sees_theirs_and_the_unassigned_an_admin_all(app, people):
    ids, clients = people
    mine = make_enquiry(app, assignee_id=ids["manager"])
    theirs = make_enquiry(app, assignee_id=ids["other"])
    free = make_enquiry(app)
    assert set(references_on(clients["manager"].get("/staff/enquiries"))) == {mine, free}
    assert set(references_on(clients["admin"].get("/staff/enquiries"))) == {mine, theirs, free}
    assert references_on(clients["manager"].get("/staff/enquiries?assignee=me")) == [mine]
    assert references_on(clients["manager"].get("/staff/enquiries?assignee=unassigned")) == [free]
    assert references_on(clients["manager"].get(f"/staff/enquiries?assignee={ids['other']}")) == []
    assert references_on(clients["admin"].get(f"/staff/enquiries?assignee={ids['other']}")) == [theirs]
    assert references_on(clients["admin"].get("/staff/enquiries?assignee=me")) == []


def test_the_status_filter(app, people):
    ids, clients = people
    new = make_enquiry(app, status="new")
    contacted = make_enquiry(app, status="contacted", assignee_id=ids["manager"])
    make_enquiry(app, status="contacted", assignee_id=ids["other"])
    assert references_on(clients["manager"].get("/staff/enquiries?status=contacted")) == [contacted]
    assert references_on(clients["manager"].get("/staff/enquiries?status=new")) == [new]
    assert len(references_on(clients["admin"].get("/staff/enquiries?status=contacted"))) == 2
    assert references_on(clients["admin"].get("/staff/enquiries?status=won")) == []


@pytest.mark.parametrize("query", [
    "status=bogus", "status=NEW", "assignee=someone", "assignee=-1", "assignee=1e3", "page=0", "page=-1",
    "page=abc", "page=1.5", "page=99999999999", "sector=oil", "topic=%3Cscript%3E", "assignee=99999999999999",
])
def test_filters_that_mean_nothing_answer_400(people, query):
    response = people[1]["manager"].get(f"/staff/enquiries?{query}")
    assert response.status_code == 400
    assert "Traceback" not in response.text and "<html" in response.text


def test_the_inbox_shows_no_enquiry_data_to_a_manager_of_another(app, people):
    ids, clients = people
    make_enquiry(app, assignee_id=ids["other"], name="Secret Person")
    assert "Secret Person" not in clients["manager"].get("/staff/enquiries").text
    assert "Secret Person" in clients["admin"].get("/staff/enquiries").text
