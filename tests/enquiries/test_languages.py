"""Danish and English on the public pages, in the policy, the consent and the emails (CONTRACT §4)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from crm.core.models import Consent, Enquiry, OutboxMessage
from crm.enquiries.policy import FIRST_POLICY_TEXT, FIRST_POLICY_TEXT_DA, policy_sha256
from crm.extensions import db
from tests.enquiries.test_form import form_fields, form_post
from tests.helpers import NOTHING_STORED, all_rows, stored_counts, valid_payload

ROOT = Path(__file__).resolve().parents[2]


def page_lang(html):
    return re.search(r'<html lang="(\w+)"', html).group(1)


def test_english_by_default(client):
    html = client.get("/enquire").get_data(as_text=True)
    assert page_lang(html) == "en"
    assert '<label for="name">Your name</label>' in html


def test_lang_parameter_chooses_danish_and_the_visit_keeps_it(client):
    html = client.get("/enquire?lang=da").get_data(as_text=True)
    assert page_lang(html) == "da"
    assert '<label for="name">Dit navn</label>' in html
    assert "Send henvendelse" in html
    assert '<option value="DK">Danmark</option>' in html
    assert '<option selected value="da">Dansk</option>' in html  # the answer's language too
    # Kept for the visit, whatever the browser prefers.
    again = client.get("/privacy", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page_lang(again) == "da" and "Hvem er ansvarlig" in again
    assert page_lang(client.get("/enquire?lang=en").get_data(as_text=True)) == "en"
    assert page_lang(client.get("/enquire").get_data(as_text=True)) == "en"


def test_accept_language_chooses_when_nothing_else_does(client):
    html = client.get("/enquire", headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert page_lang(html) == "da"
    assert page_lang(client.get("/enquire?lang=xx", headers={"Accept-Language": "fr"}).get_data(as_text=True)) == "en"


def test_a_visible_language_switch(client):
    html = client.get("/enquire").get_data(as_text=True)
    switch = re.search(r'<nav class="language-switch".*?</nav>', html, re.S).group(0)
    assert 'href="/enquire?lang=da"' in switch and ">Dansk<" in switch
    assert 'href="/enquire?lang=en"' in switch and 'aria-current="true"' in switch


def test_staff_pages_stay_english(client):
    client.get("/enquire?lang=da")
    assert page_lang(client.get("/login").get_data(as_text=True)) == "en"


def test_errors_come_in_danish(app, client):
    client.get("/enquire?lang=da")
    response = form_post(client, email="ikke-en-adresse", consent=..., name="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ret venligst følgende" in html
    assert "Dette felt skal udfyldes." in html
    assert "Skriv en gyldig e-mailadresse" in html
    assert "Du skal acceptere privatlivspolitikken." in html
    assert stored_counts(app) == NOTHING_STORED
    missing = client.get("/no-such-page").get_data(as_text=True)
    assert "Siden findes ikke" in missing


def test_a_danish_visitor_consents_to_the_danish_text(app, client):
    client.get("/enquire?lang=da")
    assert form_post(client, language="da").status_code == 303
    consent = all_rows(app, Consent)[0]
    assert (consent.policy_version, consent.policy_language) == ("2026-01", "da")
    assert consent.policy_sha256 == policy_sha256(FIRST_POLICY_TEXT_DA)
    thanks = client.get("/enquire/thanks").get_data(as_text=True)
    assert "Tak for din henvendelse" in thanks
    assert "Vi har sendt dig en bekræftelse på e-mail." in thanks
    assert all_rows(app, Enquiry)[0].reference in thanks


def test_an_english_visitor_consents_to_the_english_text(app, client):
    assert form_post(client).status_code == 303
    consent = all_rows(app, Consent)[0]
    assert (consent.policy_language, consent.policy_sha256) == ("en", policy_sha256(FIRST_POLICY_TEXT))


def test_the_policy_page_is_a_document_with_headings(client):
    html = client.get("/privacy").get_data(as_text=True)
    assert "<h1>Privacy policy for enquiries to Invest in Aalborg (version 2026-01)</h1>" in html
    assert "<h2>Who is responsible</h2>" in html and "<h2>Your rights</h2>" in html
    assert "<pre" not in html
    danish = client.get("/privacy?lang=da").get_data(as_text=True)
    assert "<h2>Dine rettigheder</h2>" in danish and "Version 2026-01, offentliggjort" in danish


def test_the_api_lists_languages_and_labels_in_both(client):
    options = client.get("/api/v1/options").json
    assert [(o["code"], o["label"]) for o in options["languages"]] == [("en", "English"), ("da", "Danish")]
    medtech = options["sectors"][0]
    assert medtech == {"code": "medtech", "label": "Medical technology",
                       "labels": {"en": "Medical technology", "da": "Medicinsk teknologi"}}
    assert options["topics"][0]["labels"]["da"] == "Etablering af virksomhed eller afdeling"
    danish = client.get("/api/v1/options?lang=da").json
    assert danish["sectors"][0]["label"] == "Medicinsk teknologi"
    assert {"code": "DK", "label": "Danmark"} in danish["countries"]


def test_the_api_serves_the_policy_in_either_language_under_one_version(app, client):
    english = client.get("/api/v1/privacy-policy").json
    danish = client.get("/api/v1/privacy-policy?lang=da").json
    assert english["version"] == danish["version"] == "2026-01"
    assert (english["language"], danish["language"]) == ("en", "da")
    assert danish["sha256"] == policy_sha256(danish["text"]) != english["sha256"]
    # An enquiry in Danish consents to the Danish text; the API speaks English whatever the browser.
    response = client.post("/api/v1/enquiries", json=valid_payload(language="da"),
                           headers={"Accept-Language": "da"})
    assert response.status_code == 201
    assert all_rows(app, Consent)[0].policy_language == "da"
    refused = client.post("/api/v1/enquiries", json=valid_payload(name=""), headers={"Accept-Language": "da"})
    assert refused.json["fields"]["name"] == ["This field is required."]


def test_the_danish_acknowledgement_promises_a_time_in_danish(app):
    from crm.notifications.services import render_email

    due = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    with app.test_request_context():
        subject, text, html = render_email("enquiries/received", "da", response_due_at=due, name="Ada",
                                           reference="AAL-ABCD-EFGH", sector="medtech",
                                           topic="establishment", privacy_url="https://x.example/privacy")
        assert "Du hører fra os senest tirsdag den 1. december 2026 kl. 14:00." in text
        assert "Du hører fra os senest tirsdag den 1. december 2026 kl. 14:00." in html
        _, text_en, _ = render_email("enquiries/received", "en", response_due_at=due, name="Ada",
                                     reference="AAL-ABCD-EFGH", sector="medtech",
                                     topic="establishment", privacy_url="https://x.example/privacy")
        assert "You will hear from us by Tuesday 1 December 2026, 14:00." in text_en


def test_a_danish_submission_is_acknowledged_with_its_stored_response_date(app, client):
    form_post(client, language="da")
    with app.app_context():
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        due = db.session.scalar(sa.select(Enquiry.response_due_at))
        assert due is not None
        assert "Du hører fra os senest" in ack.text and "inden for to hverdage" not in ack.text
        assert "/privacy?lang=da" in ack.text


def test_the_catalogue_translates_every_text_of_the_sources_and_is_compiled():
    """The .po files are committed and compiled by `make install`; this keeps them complete."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    # (file, line, message, comments, context); a plural message is a tuple. Hidden dirs
    # (.venv) are skipped by Babel's default filter.
    ids = {found[2] if isinstance(found[2], str) else found[2][0]
           for found in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}
    po = ROOT / "translations/da/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale="da")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue
                  if m.id and m.string and (isinstance(m.string, str) or all(m.string)) and not m.fuzzy}
    assert ids - translated == set()
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, "run `make install` to compile"


def test_the_form_fields_keep_their_names_in_danish(client):
    fields = form_fields(client)
    html = client.get("/enquire?lang=da").get_data(as_text=True)
    for name in ("name", "email", "company", "phone", "country", "sector", "topic", "message", "consent"):
        assert f'name="{name}"' in html
    assert fields["policy_version"] == "2026-01"
