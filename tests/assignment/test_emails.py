"""The assignment and unassigned emails reach a real SMTP server through the worker."""

from crm.notifications.worker import drain
from tests.helpers import valid_payload


def delivered(smtp_server, recipient):
    return [m["message"] for m in smtp_server.messages if m["to"] == [recipient]]


def test_the_chosen_manager_gets_the_assignment_and_the_admins_nothing(smtp_app, smtp_server, make_user):
    make_user(role="admin", email="admin@investinaalborg.example")
    make_user(role="manager", email="helena@investinaalborg.example", name="Helena Peyron")
    reference = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload()).json["reference"]
    with smtp_app.app_context():
        assert drain() == 2
    (mail,) = delivered(smtp_server, "helena@investinaalborg.example")
    assert reference in mail["Subject"] and "assigned to you" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:5000/staff/enquiries/{reference}" in text
    assert "Why you: lightest load" in text
    assert delivered(smtp_server, "admin@investinaalborg.example") == []


def test_nobody_eligible_each_admin_gets_one_unassigned_email(smtp_app, smtp_server, make_user):
    make_user(role="admin", email="admin@investinaalborg.example")
    make_user(role="admin", email="second@investinaalborg.example")
    reference = smtp_app.test_client().post("/api/v1/enquiries", json=valid_payload()).json["reference"]
    with smtp_app.app_context():
        assert drain() == 3
    for admin in ("admin@investinaalborg.example", "second@investinaalborg.example"):
        (mail,) = delivered(smtp_server, admin)
        assert "unassigned" in mail["Subject"] and reference in mail["Subject"]
        assert f"/staff/enquiries/{reference}" in mail.get_body(("plain",)).get_content()
