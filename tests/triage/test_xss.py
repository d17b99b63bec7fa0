"""Stored XSS: every field a prospect or a colleague typed is shown escaped, on the enquiry page,
in the inbox, in the related lists and in the timeline."""

import sqlalchemy as sa

from crm.enquiries.models import Consent, Contact, Enquiry
from crm.extensions import db
from tests.helpers import csrf_token, make_enquiry

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert("


def test_every_shown_field_is_escaped(app, make_user, login):
    staff = make_user(name=PAYLOAD, title=PAYLOAD)
    client = app.test_client()
    login(client, staff)
    reference = make_enquiry(app, assignee_id=staff, name=PAYLOAD, email="ada@nordic-implants.example")
    sibling = make_enquiry(app, assignee_id=staff, name=PAYLOAD, email="bo@nordic-implants.example")
    with app.app_context():
        for ref in (reference, sibling):
            enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == ref))
            enquiry.message = PAYLOAD
            contact = db.session.get(Contact, enquiry.contact_id)
            contact.company, contact.phone = PAYLOAD, PAYLOAD[:40]
        consent = db.session.scalar(sa.select(Consent).join(Enquiry).where(Enquiry.reference == reference))
        consent.evidence = consent.purpose = PAYLOAD[:40]
        db.session.commit()
    for action, data in (("notes", {"body": PAYLOAD}), ("status", {"status": "lost", "reason": PAYLOAD}),
                         ("reply", {"subject": PAYLOAD, "body": PAYLOAD}), ("follow-up", {"due": "2026-12-01"}),
                         ("project", {"project_type": "greenfield", "planned_jobs": "3"})):
        response = client.post(f"/staff/enquiries/{reference}/{action}",
                               data={**data, "csrf_token": csrf_token(client)})
        assert response.status_code == 303, action
    # A 422 page echoes the input escaped too.
    bad = client.post(f"/staff/enquiries/{reference}/project",
                      data={"planned_jobs": PAYLOAD, "csrf_token": csrf_token(client)})
    pages = {"enquiry": client.get(f"/staff/enquiries/{reference}").text,
             "sibling": client.get(f"/staff/enquiries/{sibling}").text,
             "inbox": client.get("/staff/enquiries?status=all").text, "invalid": bad.text}
    for name, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert ESCAPED in html, name
    # The timeline shows the note, the reason and the reply's subject, all escaped.
    assert pages["enquiry"].count(ESCAPED) >= 6
