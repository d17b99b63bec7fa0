"""The search index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) stays in step with the
contacts, and the search box answers bad input with an empty list, never a 500 or a scan."""

import pytest
import sqlalchemy as sa

from crm.enquiries.models import Contact, Enquiry
from crm.extensions import db
from crm.triage.search import MAX_CONTACTS, matching_contacts, searchable
from tests.helpers import make_enquiry


def found(app, text):
    """Ids of the contacts the index finds for `text`."""
    with app.app_context():
        return set(db.session.scalars(matching_contacts(text)))


def contact_id(app, reference):
    with app.app_context():
        return db.session.scalar(sa.select(Enquiry.contact_id).where(Enquiry.reference == reference))


def test_the_index_follows_inserts_updates_and_deletes(app):
    ada = contact_id(app, make_enquiry(app, name="Ada Lindqvist", email="ada@polar.example"))
    assert found(app, "lindq") == {ada} and found(app, "POLAR.ex") == {ada}
    with app.app_context():
        contact = db.session.get(Contact, ada)
        contact.name, contact.email, contact.company = "Erased", f"erased-{ada}@invalid", ""
        db.session.commit()
    assert found(app, "lindq") == set() and found(app, "polar") == set() and found(app, "Nordic") == set()
    assert found(app, "erased") == {ada}
    with app.app_context():
        db.session.execute(sa.delete(Contact).where(Contact.id == ada))
        db.session.commit()
    assert found(app, "erased") == set()


def test_search_finds_by_name_email_company_and_reference(app, client, make_user, login):
    login(client, make_user(role="admin"))
    ada = make_enquiry(app, name="Ada Virtanen", email="ada.v@aurora-labs.example")
    other = make_enquiry(app, name="Bo Madsen", email="bo@fjord.example")
    with app.app_context():
        db.session.get(Contact, contact_id(app, other)).company = "Fjord Sensors Oy"
        db.session.commit()

    def listed(q):
        html = client.get("/staff/enquiries", query_string={"q": q}).get_data(as_text=True)
        return {ref for ref in (ada, other) if ref in html}

    assert listed("virtanen") == {ada}
    assert listed("AURORA-LABS") == {ada}
    assert listed("Ada.V@Aurora-Labs.example") == {ada}  # a complete address: the unique index
    assert listed("v@aurora-labs.ex") == {ada}  # not anyone's address: a substring
    assert listed("sensors oy") == {other}
    assert listed("implants") == {ada}  # make_enquiry's company, kept for Ada
    assert listed(ada.lower()) == {ada} and listed(ada[4:]) == {ada}


@pytest.mark.parametrize("q", ["a", "%", "_", "__", "%%%", "___", "a_b", "ab", "--", '"""', "ø.", "*"])
def test_too_short_or_punctuation_only_searches_answer_an_empty_list(app, client, make_user, login, q):
    login(client, make_user(role="admin"))
    reference = make_enquiry(app, name="Ada ___ %%% Jensen")
    response = client.get("/staff/enquiries", query_string={"q": q})
    assert response.status_code == 200 and reference not in response.get_data(as_text=True)
    assert not searchable(q)


@pytest.mark.parametrize("q", ["x" * 200, "é" * 200, "ab" * 100, 'a" OR "b', "NEAR(ada jensen)", "ada*"])
def test_long_or_operator_searches_are_taken_as_text(app, client, make_user, login, q):
    login(client, make_user(role="admin"))
    reference = make_enquiry(app, name="Ada Jensen")
    response = client.get("/staff/enquiries", query_string={"q": q})
    assert response.status_code == 200 and reference not in response.get_data(as_text=True)


def test_a_common_name_looks_at_the_most_recent_matches_only(app, monkeypatch):
    monkeypatch.setattr("crm.triage.search.MAX_CONTACTS", 2)
    ids = [contact_id(app, make_enquiry(app, name="Common Name")) for _ in range(3)]
    assert found(app, "common") == set(ids[1:])
    assert MAX_CONTACTS >= 100
