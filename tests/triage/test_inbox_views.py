"""The manager's inbox: default view, filters and sorts combined and kept in the URL, the row's
facts and warnings, and the CSV export (same filters, audited, formula cells neutralised)."""

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.db import utcnow
from crm.enquiries.models import Contact, Enquiry
from crm.extensions import db
from tests.helpers import audit_actions, make_enquiry


@pytest.fixture
def people(app, make_user, login):
    ids = {"manager": make_user(name="Helena Peyron"), "other": make_user(), "admin": make_user(role="admin")}
    clients = {}
    for name in ("manager", "other", "admin"):
        clients[name] = app.test_client()
        login(clients[name], ids[name])
    return ids, clients


def refs(page):
    return re.findall(r'href="/staff/enquiries/(AAL-[0-9A-Z]{4}-[0-9A-Z]{4})"', page.text)


def update(app, reference, **values):
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        for key, value in values.items():
            setattr(enquiry, key, value)
        db.session.commit()


def test_the_default_view_is_mine_and_unassigned_and_open(app, people):
    ids, clients = people
    mine = make_enquiry(app, assignee_id=ids["manager"], status="qualified")
    free = make_enquiry(app)
    make_enquiry(app, assignee_id=ids["other"])
    spam = make_enquiry(app, status="spam")
    won = make_enquiry(app, assignee_id=ids["manager"], status="won")
    assert set(refs(clients["manager"].get("/staff/enquiries"))) == {mine, free}
    assert set(refs(clients["manager"].get("/staff/enquiries?status=all"))) == {mine, free, spam, won}
    assert refs(clients["manager"].get("/staff/enquiries?status=spam")) == [spam]


def test_filters_combine_and_stay_in_the_links(app, people):
    ids, clients = people
    start = utcnow() - timedelta(days=2)
    wanted = [make_enquiry(app, assignee_id=ids["manager"], sector="biotech", created_at=start + timedelta(minutes=i))
              for i in range(27)]
    for reference in wanted:
        update(app, reference, priority="high")
    make_enquiry(app, assignee_id=ids["manager"], sector="biotech")  # normal priority
    make_enquiry(app, assignee_id=ids["manager"], sector="medtech")
    update(app, make_enquiry(app, sector="biotech"), priority="high")  # unassigned
    query = "assignee=me&sector=biotech&priority=high&sort=received"
    first = clients["manager"].get(f"/staff/enquiries?{query}")
    assert refs(first) == wanted[::-1][:25]
    next_link = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    assert next_link == "/staff/enquiries?assignee=me&sector=biotech&priority=high&page=2"
    assert refs(clients["manager"].get(next_link)) == wanted[::-1][25:]
    # The form shows the choices made.
    assert '<option value="high" selected>' in first.text and '<option value="biotech" selected>' in first.text


def test_sort_by_response_due_puts_the_most_urgent_first(app, people):
    ids, clients = people
    now = utcnow()
    late = make_enquiry(app)
    soon = make_enquiry(app)
    later = make_enquiry(app)
    answered = make_enquiry(app, status="contacted")
    update(app, late, response_due_at=now - timedelta(hours=5))
    update(app, soon, response_due_at=now + timedelta(hours=1))
    update(app, later, response_due_at=now + timedelta(days=2))
    update(app, answered, response_due_at=now - timedelta(days=1), first_response_at=now - timedelta(days=2))
    assert refs(clients["admin"].get("/staff/enquiries?sort=response_due")) == [late, soon, later, answered]


def test_sort_by_response_due_pages_through_both_parts_in_one_order(app, people):
    """The page is read in two parts (waiting ones by promise, then the rest newest first); the
    pages and the export must still give one order with nothing lost or repeated."""
    ids, clients = people
    now, start = utcnow(), utcnow() - timedelta(days=3)
    waiting, rest = [], []
    for i in range(27):
        reference = make_enquiry(app, assignee_id=ids["manager"] if i % 2 else None,
                                 created_at=start + timedelta(minutes=i))
        due = now + timedelta(hours=(i * 7) % 27 - 10)
        update(app, reference, response_due_at=due)
        waiting.append((due, reference))
    for i in range(27):
        reference = make_enquiry(app, assignee_id=ids["manager"] if i % 2 else None,
                                 status="lost" if i % 3 == 0 else "contacted",
                                 created_at=start + timedelta(hours=1, minutes=i))
        if i % 3:
            update(app, reference, response_due_at=now - timedelta(hours=i), first_response_at=now)
        rest.append(reference)
    others = make_enquiry(app, assignee_id=ids["other"])  # waiting for nobody: no promise
    head = [reference for _, reference in sorted(waiting)]
    expected = {"manager": head + rest[::-1], "admin": head + [others] + rest[::-1]}
    for viewer, order in expected.items():
        pages = [refs(clients[viewer].get(f"/staff/enquiries?status=all&sort=response_due&page={n}"))
                 for n in (1, 2, 3)]
        assert [len(page) for page in pages] == [25, 25, len(order) - 50]
        assert sum(pages, []) == order
        export = clients[viewer].get("/staff/enquiries.csv?status=all&sort=response_due")
        assert [row[0] for row in csv.reader(io.StringIO(export.text))][1:] == order


def test_sort_by_follow_up_and_activity(app, people):
    ids, clients = people
    today = utcnow().date()
    a, b, c = make_enquiry(app), make_enquiry(app), make_enquiry(app)
    update(app, a, next_follow_up_on=today + timedelta(days=3), last_activity_at=utcnow() - timedelta(days=3))
    update(app, b, next_follow_up_on=today - timedelta(days=1), last_activity_at=utcnow())
    update(app, c, last_activity_at=utcnow() - timedelta(days=1))
    assert refs(clients["admin"].get("/staff/enquiries?sort=follow_up")) == [b, a, c]
    assert refs(clients["admin"].get("/staff/enquiries?sort=activity")) == [b, c, a]


def test_rows_show_the_facts_and_warnings_in_words(app, people):
    ids, clients = people
    now = utcnow()
    reference = make_enquiry(app, assignee_id=ids["manager"], name="Ada Jensen", sector="biotech")
    update(app, reference, response_due_at=now - timedelta(hours=1), priority="high",
           next_follow_up_on=now.date() - timedelta(days=2), created_at=now - timedelta(days=3))
    page = clients["manager"].get("/staff/enquiries").text
    for text in ("Nordic Implants ApS", "Ada Jensen", "Denmark", "Biotechnology", "Establishing a company or site",
                 '<span class="status status-new">new</span>', "priority-high", "high</span>", "Helena Peyron",
                 ">3 d<", "⚠</span> Response late", "⚠</span> Follow-up overdue"):
        assert text in page, text


def test_a_response_due_later_today_is_flagged(app, people):
    from crm.triage.calendar import agency_zone, local_now

    ids, clients = people
    reference = make_enquiry(app)
    with app.app_context():
        local = local_now()
        end_of_day = local.replace(hour=23, minute=59, second=0, microsecond=0)
        zone = agency_zone()
    if end_of_day <= local + timedelta(minutes=1):
        pytest.skip("too close to midnight in the agency's time zone")
    update(app, reference, response_due_at=end_of_day.astimezone(zone))
    assert "Response due today" in clients["admin"].get("/staff/enquiries").text


def test_aftercare_is_listed(app, people):
    ids, clients = people
    today = utcnow().date()
    due = make_enquiry(app, assignee_id=ids["manager"], status="won")
    make_enquiry(app, assignee_id=ids["manager"], status="won")  # no follow-up yet due
    update(app, due, next_follow_up_on=today - timedelta(days=1))
    lost = make_enquiry(app, assignee_id=ids["manager"], status="lost")
    update(app, lost, next_follow_up_on=today - timedelta(days=1))
    assert refs(clients["manager"].get("/staff/enquiries?status=won&overdue=1")) == [due]
    assert refs(clients["manager"].get("/staff/enquiries?status=all&overdue=1")) == [due]


@pytest.mark.parametrize("query", ["priority=urgent", "sort=newest", "sort=", "status=closed", "page=١",
                                   "assignee=١٢", "page=" + "9" * 400, "sort=%00", "priority=HIGH"])
def test_unknown_values_answer_400(people, query):
    for path in ("/staff/enquiries", "/staff/enquiries.csv"):
        response = people[1]["manager"].get(f"{path}?{query}")
        assert response.status_code == (200 if query == "sort=" else 400), (path, query)


def read_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_has_the_same_rows_and_is_audited(app, people):
    ids, clients = people
    mine = make_enquiry(app, assignee_id=ids["manager"], sector="biotech")
    free = make_enquiry(app, sector="biotech")
    make_enquiry(app, assignee_id=ids["other"], sector="biotech", name="Secret Person")
    make_enquiry(app, assignee_id=ids["manager"], sector="medtech")
    response = clients["manager"].get("/staff/enquiries.csv?sector=biotech")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="enquiries-')
    rows = read_csv(response)
    assert {r["reference"] for r in rows} == {mine, free}
    assert "Secret Person" not in response.get_data(as_text=True)
    assert rows[0]["status_words"] == "new" and rows[0]["sector"] == "biotech"
    assert audit_actions(app)[-1] == "enquiries.exported"
    admin_rows = read_csv(clients["admin"].get("/staff/enquiries.csv?sector=biotech"))
    assert len(admin_rows) == 3


def test_csv_cells_that_look_like_formulas_are_neutralised(app, people):
    ids, clients = people
    nasty = {"=HYPERLINK(\"http://evil\")": "'=HYPERLINK(\"http://evil\")", "+1+1": "'+1+1",
             "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)", "\tTab": "'\tTab", "\rCR": "'\rCR", "Plain": "Plain"}
    for i, (name, _) in enumerate(nasty.items()):
        reference = make_enquiry(app, name=name, email=f"p{i}@example.com")
        with app.app_context():
            contact = db.session.scalar(sa.select(Contact).join(Enquiry).where(Enquiry.reference == reference))
            contact.company = name
            db.session.commit()
    rows = read_csv(clients["admin"].get("/staff/enquiries.csv"))
    assert sorted((r["name"], r["company"]) for r in rows) == sorted((v, v) for v in nasty.values())


def test_the_csv_streams_every_row_past_one_batch(app, people, monkeypatch):
    from crm.triage import queries

    monkeypatch.setattr(queries, "EXPORT_BATCH", 7)
    ids, clients = people
    references = {make_enquiry(app) for _ in range(30)}
    response = clients["admin"].get("/staff/enquiries.csv")
    assert response.is_streamed
    assert {r["reference"] for r in read_csv(response)} == references


def test_the_csv_needs_a_login(app):
    response = app.test_client().get("/staff/enquiries.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
