"""/admin/outbox: admins see pending, sent and dead mail, read the last error, requeue the dead."""

import re

import pytest
import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.extensions import db
from crm.notifications.worker import drain
from tests.helpers import hidden_value
from tests.notifications.helpers import add_messages, one


@pytest.fixture
def admin_client(app, client, make_user, login):
    login(client, make_user(role="admin"))
    return client


@pytest.fixture
def manager_client(app, client, make_user, login):
    login(client, make_user(role="manager"))
    return client


def listed_ids(response):
    return [int(i) for i in re.findall(r'href="/admin/outbox/(\d+)"', response.get_data(as_text=True))]


def requeue_token(client, message_id):
    return hidden_value(client.get(f"/admin/outbox/{message_id}").get_data(as_text=True), "csrf_token")


@pytest.mark.parametrize("path", ["/admin/outbox", "/admin/outbox?status=dead", "/admin/outbox/{id}"])
def test_a_manager_is_refused_every_outbox_page(app, manager_client, path):
    (message,) = add_messages(app, 1, status="dead")
    response = manager_client.get(path.format(id=message))
    assert response.status_code == 403
    assert "Hello in text." not in response.get_data(as_text=True)


def test_a_manager_cannot_requeue(app, manager_client):
    (message,) = add_messages(app, 1, status="dead", last_error="550 no such user")
    token = hidden_value(manager_client.get("/enquire").get_data(as_text=True), "csrf_token")
    response = manager_client.post(f"/admin/outbox/{message}/requeue", data={"csrf_token": token})
    assert response.status_code == 403
    assert one(app, message).status == "dead"
    with app.app_context():
        denied = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "access.denied")).all()
        assert [d.target_id for d in denied] == [f"/admin/outbox/{message}/requeue"]


def test_the_list_shows_every_status_newest_first_with_the_last_error(app, admin_client):
    pending = add_messages(app, 1, subject="Pending one")[0]
    sent = add_messages(app, 1, status="sent", subject="Sent one")[0]
    dead = add_messages(app, 1, status="dead", subject="Dead one", attempts=1,
                        last_error="SMTPDataError: 550 5.1.1 no such user")[0]

    response = admin_client.get("/admin/outbox")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert listed_ids(response) == [dead, sent, pending]
    assert "Pending one" in page and "Sent one" in page and "Dead one" in page
    assert "550 5.1.1 no such user" in page
    assert "1 pending · 1 dead" in page


@pytest.mark.parametrize("status", ["pending", "sent", "dead"])
def test_the_list_filters_by_status(app, admin_client, status):
    ids = {s: add_messages(app, 2, status=s) for s in ("pending", "sent", "dead")}
    response = admin_client.get(f"/admin/outbox?status={status}")
    assert response.status_code == 200
    assert listed_ids(response) == sorted(ids[status], reverse=True)


@pytest.mark.parametrize("query", ["status=lost", "status=DEAD", "status=dead%0a", "before=abc", "before=-1",
                                   "before=0", "before=1.5"])
def test_bad_list_arguments_answer_400(admin_client, query):
    assert admin_client.get(f"/admin/outbox?{query}").status_code == 400


def test_the_list_pages_by_keyset_25_at_a_time(app, admin_client):
    ids = add_messages(app, 30, status="dead")
    first = admin_client.get("/admin/outbox?status=dead")
    assert listed_ids(first) == sorted(ids, reverse=True)[:25]
    older = re.search(r'href="(/admin/outbox\?[^"]*before=\d+[^"]*)" rel="next"', first.get_data(as_text=True))
    second = admin_client.get(older.group(1).replace("&amp;", "&"))
    assert listed_ids(second) == sorted(ids, reverse=True)[25:]
    assert 'rel="next"' not in second.get_data(as_text=True)
    # A page past the end is an empty list, not an error.
    past = admin_client.get(f"/admin/outbox?before={min(ids)}")
    assert past.status_code == 200 and listed_ids(past) == []


def test_the_detail_shows_the_last_error_and_both_bodies_escaped(app, admin_client):
    (message,) = add_messages(app, 1, status="dead", last_error="SMTPDataError: 550 <refused>",
                              text="Dear Ada,\nthanks.", html="<p>Dear <b>Ada</b></p>")
    response = admin_client.get(f"/admin/outbox/{message}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SMTPDataError: 550 &lt;refused&gt;" in page
    assert "Dear Ada,\nthanks." in page
    assert "&lt;p&gt;Dear &lt;b&gt;Ada&lt;/b&gt;&lt;/p&gt;" in page  # shown as source, never rendered
    assert "Requeue this message" in page
    assert "style=" not in page and "<script" not in page  # the CSP forbids inline code


def test_the_detail_of_a_sent_message_offers_no_requeue(app, admin_client):
    (message,) = add_messages(app, 1, status="sent")
    assert "Requeue this message" not in admin_client.get(f"/admin/outbox/{message}").get_data(as_text=True)


def test_an_unknown_message_is_404(admin_client):
    assert admin_client.get("/admin/outbox/999999").status_code == 404
    token = hidden_value(admin_client.get("/admin/outbox").get_data(as_text=True), "csrf_token")
    assert admin_client.post("/admin/outbox/999999/requeue", data={"csrf_token": token}).status_code == 404


def test_requeue_needs_a_csrf_token(app, admin_client):
    (message,) = add_messages(app, 1, status="dead")
    assert admin_client.post(f"/admin/outbox/{message}/requeue").status_code == 400
    assert admin_client.post(f"/admin/outbox/{message}/requeue", data={"csrf_token": "forged"}).status_code == 400
    assert one(app, message).status == "dead"


def test_requeueing_a_message_that_is_not_dead_changes_nothing(app, admin_client):
    (message,) = add_messages(app, 1, status="sent")
    token = requeue_token(admin_client, message)
    response = admin_client.post(f"/admin/outbox/{message}/requeue", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Only a dead message can be requeued; this one is sent." in admin_client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert one(app, message).status == "sent"


def test_an_admin_fixes_a_550_without_a_shell(make_app, smtp_server, client, make_user, login):
    """550 → dead and visible → requeued from the page → delivered, and the requeue audited."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    client = app.test_client()
    admin = make_user(role="admin")
    login(client, admin)
    (message,) = add_messages(app, 1, subject="Your enquiry")
    smtp_server.fail_next("550 5.7.1 rejected by policy")
    with app.app_context():
        drain()

    dead_page = client.get("/admin/outbox?status=dead")
    assert listed_ids(dead_page) == [message]
    assert "550 5.7.1 rejected by policy" in dead_page.get_data(as_text=True)

    token = requeue_token(client, message)
    response = client.post(f"/admin/outbox/{message}/requeue", data={"csrf_token": token},
                           environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/outbox/{message}"
    assert "Requeued" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert one(app, message).status == "pending"

    with app.app_context():
        assert drain() == 1
    assert one(app, message).status == "sent"
    assert [m["message"]["Subject"] for m in smtp_server.messages] == ["Your enquiry"]
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "outbox.requeued")).one()
        assert (entry.actor_id, entry.target_id, entry.ip_address) == (admin, str(message), "198.51.100.4")


def test_in_development_logged_messages_are_shown_with_a_notice(app, admin_client):
    assert app.config["MAIL_SERVER"] is None
    (message,) = add_messages(app, 1, subject="Logged, not delivered")
    with app.app_context():
        drain()
    page = admin_client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert "Logged, not delivered" in page
    assert "No <code>MAIL_SERVER</code> is set" in page
    assert one(app, message).status == "sent"
