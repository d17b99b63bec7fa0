"""The public JSON API, CONTRACT §3: every answer, and nothing stored on any error."""

import io
import json
import re

import pytest
import sqlalchemy as sa

from crm.core.models import Activity, Consent, Contact, Enquiry, IdempotencyKey, OutboxMessage, PrivacyPolicy
from crm.extensions import db
from tests.helpers import NOTHING_STORED, all_rows, count, stored_counts, valid_payload

URL = "/api/v1/enquiries"


def post(client, body, **kwargs):
    return client.post(URL, json=body, **kwargs)


def test_valid_enquiry_is_stored_with_its_consent_timeline_and_emails(app, client, make_user):
    make_user(role="admin")
    response = post(client, valid_payload(), headers={"User-Agent": "PartnerSite/1.0"})

    assert response.status_code == 201
    assert response.json["status"] == "received"
    reference = response.json["reference"]
    assert re.fullmatch(r"AAL-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", reference)

    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        assert (enquiry.sector, enquiry.topic, enquiry.source, enquiry.status) == (
            "medtech", "establishment", "api", "new")
        assert enquiry.contact.email == "ada@example.com"
        assert enquiry.contact.company == "Nordic Implants ApS"
        consent = enquiry.consents[0]
        policy = db.session.scalar(sa.select(PrivacyPolicy))
        assert consent.policy_version == "2026-01"
        assert consent.policy_sha256 == policy.sha256
        assert consent.method == "api"
        assert consent.ip_address == "127.0.0.1"
        assert consent.user_agent == "PartnerSite/1.0"
        assert consent.given_at.tzinfo is not None
        assert [a.kind for a in enquiry.activities] == ["created", "email_queued"]
        outbox = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.kind, m.status) for m in outbox] == [("enquiry_received", "pending"),
                                                        ("enquiry_unassigned", "pending")]
        assert reference in outbox[0].subject and outbox[0].recipient == "ada@example.com"
        assert "unassigned" in outbox[1].subject and outbox[1].recipient.startswith("admin")


def test_references_are_unique_and_not_sequential(client):
    references = [post(client, valid_payload(email=f"p{i}@example.com")).json["reference"] for i in range(20)]
    assert len(set(references)) == 20
    assert references != sorted(references)


def test_unknown_fields_are_ignored_and_never_stored(app, client):
    response = post(client, valid_payload(secret_marker="zz-unknown-field-zz", assignee_id=1, status="won"))
    assert response.status_code == 201
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert enquiry.status == "new" and enquiry.assignee_id is None
    dump = json.dumps([r.__dict__ for m in (Contact, Enquiry, Consent, Activity, OutboxMessage)
                       for r in all_rows(app, m)], default=str)
    assert "zz-unknown-field-zz" not in dump


def test_a_second_enquiry_from_the_same_email_joins_the_contact(app, client):
    assert post(client, valid_payload(email="Ada@Example.COM")).status_code == 201
    assert post(client, valid_payload(email="ada@example.com", phone="", company="",
                                      name="Ada K. Jensen")).status_code == 201
    assert count(app, Contact) == 1
    assert count(app, Enquiry) == 2
    contact = all_rows(app, Contact)[0]
    assert contact.name == "Ada K. Jensen"
    assert contact.company == "Nordic Implants ApS"  # an empty field does not wipe what we know


@pytest.mark.parametrize("name,company,message", [
    ("Søren Ærø Østergård", "Ålborg Ørsted ApS", "Vi vil gerne høre om Aalborg – æøå ÆØÅ."),
    ("王小明", "北京医疗", "我们计划在欧洲设立研发中心。"),
    ("Ольга Петрова", "Медтех ООО", "Здравствуйте! 🚀"),
    ("محمد علي", "", "مرحبا"),
])
def test_danish_letters_and_other_scripts_round_trip(app, client, name, company, message):
    response = post(client, valid_payload(name=name, company=company, message=message, language="da"))
    assert response.status_code == 201
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry))
        assert (enquiry.contact.name, enquiry.contact.company, enquiry.message) == (name, company, message)
        ack = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "enquiry_received"))
        assert ack.subject.startswith("Vi har modtaget din henvendelse")
        assert name in ack.text


def test_an_internationalised_domain_is_accepted(app, client):
    assert post(client, valid_payload(email="Ada@Ærø.dk")).status_code == 201
    assert all_rows(app, Contact)[0].email == "ada@ærø.dk"


def test_input_is_normalised(app, client):
    response = post(client, valid_payload(name="  Ada  ", email=" ADA@EXAMPLE.COM ", country="dk",
                                          message="Line one\r\nLine two  "))
    assert response.status_code == 201
    contact = all_rows(app, Contact)[0]
    assert (contact.name, contact.email, contact.country) == ("Ada", "ada@example.com", "DK")
    assert all_rows(app, Enquiry)[0].message == "Line one\nLine two"


def test_optional_fields_may_be_left_out(app, client):
    body = valid_payload(company=..., phone=..., language=...)
    assert post(client, body).status_code == 201
    assert all_rows(app, Enquiry)[0].language == "en"


# --- every validation error: 422, the field named, nothing stored ---------------------------------

LONG = "x" * 5001

INVALID = [
    ("consent missing", {"consent": ...}, "consent"),
    ("consent false", {"consent": False}, "consent"),
    ("consent as a string", {"consent": "true"}, "consent"),
    ("consent as 1", {"consent": 1}, "consent"),
    ("policy version stale", {"policy_version": "2025-01"}, "policy_version"),
    ("policy version missing", {"policy_version": ...}, "policy_version"),
    ("email malformed", {"email": "ada-at-example.com"}, "email"),
    ("email with a newline", {"email": "ada@example.com\nBcc: x@evil.example"}, "email"),
    ("email missing", {"email": ...}, "email"),
    ("email with a non-ASCII local part", {"email": "søren@example.dk"}, "email"),
    ("country unknown", {"country": "XX"}, "country"),
    ("country as a name", {"country": "Denmark"}, "country"),
    ("country as a number", {"country": 45}, "country"),
    ("sector unknown", {"sector": "fintech"}, "sector"),
    ("topic unknown", {"topic": "holiday"}, "topic"),
    ("language unknown", {"language": "de"}, "language"),
    ("name missing", {"name": ...}, "name"),
    ("name blank", {"name": "   "}, "name"),
    ("name with CR LF (header injection)", {"name": "Ada\r\nBcc: victim@example.com"}, "name"),
    ("name with a NUL", {"name": "Ada\x00"}, "name"),
    ("name with a bidi override", {"name": "Ada\u202egnp.exe"}, "name"),
    ("name as a list", {"name": ["Ada"]}, "name"),
    ("name too long", {"name": "A" * 201}, "name"),
    ("company too long", {"company": "C" * 201}, "company"),
    ("company with a tab", {"company": "Nordic\tImplants"}, "company"),
    ("phone with letters", {"phone": "call me maybe"}, "phone"),
    ("phone too long", {"phone": "1" * 41}, "phone"),
    ("message missing", {"message": ...}, "message"),
    ("message too long", {"message": LONG}, "message"),
    ("message with control characters", {"message": "hello\x1b[31m"}, "message"),
    ("message as an object", {"message": {"text": "hi"}}, "message"),
]


@pytest.mark.parametrize("case,changes,field", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_input_answers_422_and_stores_nothing(app, client, case, changes, field):
    response = post(client, valid_payload(**changes))
    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"
    assert list(response.json["fields"]) == [field]
    assert all(isinstance(m, str) and m for m in response.json["fields"][field])
    assert stored_counts(app) == NOTHING_STORED


def test_every_bad_field_is_reported_at_once(app, client):
    response = post(client, {"consent": False, "email": "nope", "country": "ZZ"})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"name", "email", "country", "sector", "topic", "message",
                                            "consent", "policy_version"}
    assert stored_counts(app) == NOTHING_STORED


# --- malformed requests -------------------------------------------------------------------------

@pytest.mark.parametrize("data,content_type,status", [
    (b"[1, 2, 3]", "application/json", 400),
    (b'"a string"', "application/json", 400),
    (b"null", "application/json", 400),
    (b'{"name": "Ada",', "application/json", 400),
    (b"", "application/json", 400),
    (b"\xff\xfe{}", "application/json", 400),
    (b"name=Ada&consent=true", "application/x-www-form-urlencoded", 415),
    (b'{"name": "Ada"}', "text/plain", 415),
    (b'{"name": "Ada"}', None, 415),
], ids=["array", "string", "null", "broken", "empty", "not utf-8", "form-encoded", "text/plain", "no type"])
def test_malformed_requests_are_refused_and_store_nothing(app, client, data, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(URL, data=data, headers=headers)
    assert response.status_code == status
    assert response.is_json and response.json["error"]
    assert stored_counts(app) == NOTHING_STORED


def test_a_body_over_64_kib_answers_413_and_stores_nothing(app, client):
    body = valid_payload(padding="x" * (64 * 1024))
    response = post(client, body)
    assert response.status_code == 413
    assert response.is_json
    assert stored_counts(app) == NOTHING_STORED


def test_a_chunked_body_over_64_kib_answers_413(app, client):
    data = json.dumps(valid_payload(padding="x" * (70 * 1024))).encode()
    # No Content-Length: the server only learns the size by reading, and must stop at the limit.
    response = client.post(URL, input_stream=io.BytesIO(data),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.request.content_length is None
    assert response.status_code == 413
    assert stored_counts(app) == NOTHING_STORED


def test_a_body_just_under_the_limit_is_accepted(app, client):
    body = valid_payload()
    body["padding"] = "x" * (64 * 1024 - len(json.dumps(body)) - 20)
    assert len(json.dumps(body).encode()) < 64 * 1024
    assert post(client, body).status_code == 201


# --- idempotency --------------------------------------------------------------------------------

def test_the_same_idempotency_key_replays_the_first_answer_and_stores_nothing_new(app, client):
    first = post(client, valid_payload(), headers={"Idempotency-Key": "order-42"})
    before = stored_counts(app)
    again = post(client, valid_payload(), headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stored_counts(app) == before
    assert before["Enquiry"] == 1 and before["IdempotencyKey"] == 1


def test_the_same_key_with_another_body_answers_409_and_stores_nothing(app, client):
    post(client, valid_payload(), headers={"Idempotency-Key": "order-43"})
    before = stored_counts(app)
    response = post(client, valid_payload(message="Something else"), headers={"Idempotency-Key": "order-43"})
    assert response.status_code == 409
    assert response.json["error"] == "idempotency_key_reused"
    assert stored_counts(app) == before


def test_an_idempotency_key_expires_after_24_hours(app, client):
    from datetime import timedelta

    first = post(client, valid_payload(), headers={"Idempotency-Key": "order-44"}).json
    with app.app_context():
        key = db.session.get(IdempotencyKey, "order-44")
        key.created_at = key.created_at - timedelta(hours=25)
        db.session.commit()
    second = post(client, valid_payload(), headers={"Idempotency-Key": "order-44"})
    assert second.status_code == 201
    assert second.json["reference"] != first["reference"]
    assert count(app, Enquiry) == 2


def test_expired_idempotency_keys_are_purged_and_fresh_ones_kept(app, client):
    from datetime import timedelta

    from crm.enquiries.services import purge_expired_idempotency_keys

    post(client, valid_payload(), headers={"Idempotency-Key": "old"})
    post(client, valid_payload(), headers={"Idempotency-Key": "new"})
    with app.app_context():
        old = db.session.get(IdempotencyKey, "old")
        old.created_at = old.created_at - timedelta(hours=25)
        db.session.commit()
        assert purge_expired_idempotency_keys() == 1
        assert purge_expired_idempotency_keys() == 0
    with app.app_context():
        assert db.session.scalars(sa.select(IdempotencyKey.key)).all() == ["new"]
    assert count(app, Enquiry) == 2  # the enquiries themselves are untouched


def test_without_a_key_each_post_is_a_new_enquiry(app, client):
    post(client, valid_payload())
    post(client, valid_payload())
    assert count(app, Enquiry) == 2


def test_an_overlong_idempotency_key_is_refused(app, client):
    response = post(client, valid_payload(), headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert stored_counts(app) == NOTHING_STORED


def test_a_failed_validation_does_not_burn_the_key(app, client):
    bad = post(client, valid_payload(consent=False), headers={"Idempotency-Key": "order-45"})
    assert bad.status_code == 422
    good = post(client, valid_payload(), headers={"Idempotency-Key": "order-45"})
    assert good.status_code == 201


# --- the read-only routes -----------------------------------------------------------------------

def test_options_lists_the_vocabularies(client):
    body = client.get("/api/v1/options").json
    assert [s["code"] for s in body["sectors"]] == ["medtech", "biotech", "pharma", "healthit", "robotics", "other"]
    assert [t["code"] for t in body["topics"]] == ["establishment", "clinical_trials", "research_partnership",
                                                   "talent", "funding", "other"]
    codes = {c["code"] for c in body["countries"]}
    assert {"DK", "SE", "US", "JP"} <= codes and len(codes) > 240
    assert all(item["label"] for item in body["sectors"] + body["topics"] + body["countries"])


def test_privacy_policy_is_the_current_one(app, client):
    body = client.get("/api/v1/privacy-policy").json
    assert body["version"] == "2026-01"
    assert "Invest in Aalborg" in body["text"] and "erase" in body["text"]
    assert body["published_at"].endswith("Z")


def test_a_new_policy_version_makes_the_old_one_stale(app, client):
    from datetime import timedelta

    from crm.core.db import utcnow
    from crm.enquiries.policy import policy_sha256

    with app.app_context():
        db.session.add(PrivacyPolicy(version="2026-02", text="New text", sha256=policy_sha256("New text"),
                                     published_at=utcnow() + timedelta(seconds=1)))
        db.session.commit()
    assert client.get("/api/v1/privacy-policy").json["version"] == "2026-02"
    stale = post(client, valid_payload())
    assert stale.status_code == 422 and "policy_version" in stale.json["fields"]
    assert stored_counts(app) == NOTHING_STORED
    fresh = post(client, valid_payload(policy_version="2026-02"))
    assert fresh.status_code == 201
    assert all_rows(app, Consent)[0].policy_sha256 == policy_sha256("New text")


def test_openapi_describes_the_three_routes(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/enquiries", "/options", "/privacy-policy"}
    post_op = doc["paths"]["/enquiries"]["post"]
    assert set(post_op["responses"]) == {"201", "400", "409", "413", "415", "422", "429"}
    schema = doc["components"]["schemas"]["Enquiry"]
    assert set(schema["required"]) == {"name", "email", "country", "sector", "topic", "message", "consent",
                                       "policy_version"}
    assert schema["properties"]["sector"]["enum"] == ["medtech", "biotech", "pharma", "healthit", "robotics",
                                                      "other"]
    # Every $ref points at a schema that exists.
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(doc))
    assert refs and set(refs) <= set(doc["components"]["schemas"])


def _schema_validator(doc, name):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").json)  # raises on any error


def test_real_requests_and_answers_match_the_openapi_schemas(client):
    doc = client.get("/api/v1/openapi.json").json
    assert not list(_schema_validator(doc, "Enquiry").iter_errors(valid_payload()))
    assert list(_schema_validator(doc, "Enquiry").iter_errors(valid_payload(consent=False)))
    created = post(client, valid_payload())
    assert not list(_schema_validator(doc, "Submission").iter_errors(created.json))
    invalid = post(client, valid_payload(sector="fintech"))
    assert not list(_schema_validator(doc, "ValidationError").iter_errors(invalid.json))
    malformed = client.post(URL, data=b"[]", headers={"Content-Type": "application/json"})
    assert not list(_schema_validator(doc, "Error").iter_errors(malformed.json))


def test_unknown_api_routes_answer_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert client.get(URL).status_code == 405


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/crm.sqlite3")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


# --- CORS ---------------------------------------------------------------------------------------

def test_cors_is_off_by_default(client):
    response = post(client, valid_payload(), headers={"Origin": "https://partner.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allows_only_configured_origins(make_app):
    client = make_app(CRM_CORS_ORIGINS=["https://www.investinaalborg.example"]).test_client()
    preflight = client.options(URL, headers={
        "Origin": "https://www.investinaalborg.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, Idempotency-Key"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.investinaalborg.example"
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    other = client.post(URL, json=valid_payload(), headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_concurrent_retries_with_one_key_store_one_enquiry(app):
    from concurrent.futures import ThreadPoolExecutor

    def send(_):
        return app.test_client().post(URL, json=valid_payload(), headers={"Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(send, range(12)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json["reference"] for r in responses}) == 1
    assert count(app, Enquiry) == 1 and count(app, Contact) == 1


def test_concurrent_first_enquiries_from_one_email_make_one_contact(app):
    from concurrent.futures import ThreadPoolExecutor

    def send(i):
        return app.test_client().post(URL, json=valid_payload(message=f"Message {i}"))

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [r.status_code for r in pool.map(send, range(12))]
    assert statuses == [201] * 12
    assert count(app, Contact) == 1 and count(app, Enquiry) == 12
