"""The enquiry page's other enquiries: of the same person, and of the same company email domain
(never for free-mail domains), only those the viewer may see."""

import sqlalchemy as sa

from crm.enquiries.models import Enquiry
from crm.enquiries.services import submit_enquiry
from crm.extensions import db
from tests.helpers import valid_payload


def submit(app, email, assignee_id=None):
    with app.app_context():
        reference = submit_enquiry(valid_payload(email=email), source="api").reference
        if assignee_id:
            db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference)).assignee_id = assignee_id
            db.session.commit()
        return reference


def test_same_person_and_same_company_domain(app, make_user, login):
    manager, other = make_user(), make_user()
    client = app.test_client()
    login(client, manager)
    first = submit(app, "ada@nordic-implants.example", manager)
    second = submit(app, "ada@nordic-implants.example")
    colleague = submit(app, "bo@nordic-implants.example", manager)
    hidden = submit(app, "cy@nordic-implants.example", other)
    elsewhere = submit(app, "dan@elsewhere.example")
    page = client.get(f"/staff/enquiries/{first}").text
    person, _, company = page.partition("Other enquiries from nordic-implants.example")
    assert second in person and colleague not in person
    assert colleague in company and second not in company.split("<h2>Timeline")[0]
    assert hidden not in page and elsewhere not in page


def test_no_company_list_for_free_mail(app, make_user, login):
    admin = make_user(role="admin")
    client = app.test_client()
    login(client, admin)
    reference = submit(app, "ada.jensen@gmail.com")
    stranger = submit(app, "someone.else@gmail.com")
    page = client.get(f"/staff/enquiries/{reference}").text
    assert "Other enquiries from gmail.com" not in page and stranger not in page
