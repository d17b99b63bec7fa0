"""The API accepts exactly what its OpenAPI document describes, and no input gets a 5xx (CONTRACT §3)."""

import json
import uuid

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from crm.core.models import Contact, Enquiry
from tests.helpers import NOTHING_STORED, all_rows, count, stored_counts, valid_payload

URL = "/api/v1/enquiries"
TEXT_FIELDS = ("name", "email", "company", "phone", "country", "sector", "topic", "message",
               "policy_version", "language")
FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def document(client):
    return client.get("/api/v1/openapi.json").json


def enquiry_schema(client):
    return document(client)["components"]["schemas"]["Enquiry"]


def raw_post(client, text, headers=None):
    return client.post(URL, data=text.encode("utf-8", "surrogatepass"), headers=headers,
                       content_type="application/json")


def test_the_document_lists_every_accepted_value(client):
    import pycountry

    schema = enquiry_schema(client)
    props = schema["properties"]
    assert set(schema["required"]) == {"name", "email", "country", "sector", "topic", "message",
                                       "consent", "policy_version"}
    assert props["country"]["enum"] == sorted(c.alpha_2 for c in pycountry.countries)
    assert props["sector"]["enum"] == ["medtech", "biotech", "pharma", "healthit", "robotics", "other"]
    assert props["topic"]["enum"] == ["establishment", "clinical_trials", "research_partnership",
                                      "talent", "funding", "other"]
    assert props["language"]["enum"] == ["en", "da", None]
    assert props["policy_version"]["enum"] == [client.get("/api/v1/privacy-policy").json["version"]]
    assert props["consent"]["const"] is True
    for name in TEXT_FIELDS:
        assert isinstance(props[name]["maxLength"], int), name


def test_the_document_calls_the_contract_example_valid(client):
    jsonschema.validate(valid_payload(), enquiry_schema(client))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(valid_payload(policy_version="2020-01"), enquiry_schema(client))


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "idempotency-key"])
def test_a_lone_surrogate_in_any_field_is_refused_not_a_500(app, client, field, with_key):
    body = json.dumps(valid_payload(**{field: "Ada \ud800 Jensen"}))  # ensure_ascii: "\ud800"
    headers = {"Idempotency-Key": str(uuid.uuid4())} if with_key else None
    response = raw_post(client, body, headers)
    assert response.status_code == 422
    assert field in response.json["fields"]
    assert stored_counts(app) == NOTHING_STORED


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "idempotency-key"])
def test_a_lone_surrogate_in_an_ignored_field_is_ignored(app, client, with_key):
    body = json.dumps({**valid_payload(), "note": "\udfff"})
    headers = {"Idempotency-Key": "retry-1"} if with_key else None
    assert raw_post(client, body, headers).status_code == 201
    if with_key:  # the retry is recognised
        assert raw_post(client, body, headers).status_code == 201
    assert count(app, Enquiry) == 1


@pytest.mark.parametrize("nesting", ["[" * 20_000 + "]" * 20_000,
                                     '{"name": ' + "[" * 20_000 + "]" * 20_000 + "}",
                                     '{"a":' * 10_000 + "1" + "}" * 10_000])
def test_deeply_nested_json_is_a_400(app, client, nesting):
    response = raw_post(client, nesting)
    assert response.status_code == 400
    assert response.is_json
    assert stored_counts(app) == NOTHING_STORED


@pytest.mark.parametrize("number", ["1e999999", "-1e999999", "1" * 5000, "1" * 4000,
                                    "123456789012345678901234567890", "0.1e-99999"])
def test_huge_numbers_are_refused_not_a_500(app, client, number):
    for field in ("name", "consent", "country", "language", "policy_version"):
        body = json.dumps(valid_payload()).replace(f'"{field}": ', f'"{field}": {number}, "x{field}": ', 1)
        response = raw_post(client, body)
        assert response.status_code in (400, 422), (field, number)
    assert stored_counts(app) == NOTHING_STORED


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_nul_bytes_are_refused(app, client, field):
    response = client.post(URL, json=valid_payload(**{field: "Ada\x00Jensen"}))
    assert response.status_code == 422
    assert field in response.json["fields"]
    assert stored_counts(app) == NOTHING_STORED


@pytest.mark.parametrize("key", ["a\x00b", "\x7f", "key\twith-tab"])
def test_an_idempotency_key_of_unprintable_characters_is_a_400(app, client, key):
    response = client.post(URL, json=valid_payload(), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert stored_counts(app) == NOTHING_STORED


@pytest.mark.parametrize("text", ["Ada\u200bJensen", "Ada\u2028Jensen", "Ada\nJensen", "  \u3000 "])
def test_hidden_and_blank_names_are_refused_as_the_document_says(app, client, text):
    response = client.post(URL, json=valid_payload(name=text))
    assert response.status_code == 422
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(valid_payload(name=text), enquiry_schema(client))
    assert stored_counts(app) == NOTHING_STORED


def test_a_text_that_composition_would_lengthen_still_fits(app, client):
    """NFC turns U+FB2C into three characters; a name of 200 of them stays as sent."""
    name = "\ufb2c" * 200
    jsonschema.validate(valid_payload(name=name), enquiry_schema(client))
    assert client.post(URL, json=valid_payload(name=name)).status_code == 201
    assert all_rows(app, Contact)[0].name == name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def bodies(schema):
    """Objects the schema calls valid: each property drawn from its own schema by
    hypothesis-jsonschema, plus unknown fields (which the API ignores)."""
    props = schema["properties"]
    required = {name: from_schema(props[name]) for name in schema["required"]}
    optional = {name: from_schema(props[name]) for name in props if name not in schema["required"]}
    unknown = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in props), json_values, max_size=2)
    return st.builds(lambda known, extra: {**extra, **known},
                     st.fixed_dictionaries(required, optional=optional), unknown)


def test_every_request_the_document_calls_valid_is_stored(app, client):
    schema = enquiry_schema(client)
    submission = document(client)["components"]["schemas"]["Submission"]

    @FUZZ
    @given(body=bodies(schema), with_key=st.booleans())
    def check(body, with_key):
        headers = {"Idempotency-Key": str(uuid.uuid4())} if with_key else None
        jsonschema.validate(body, schema)
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 201, (body, response.get_json())
        jsonschema.validate(response.json, submission)

    before = count(app, Enquiry)
    check()
    assert count(app, Enquiry) > before


def test_no_body_gets_a_5xx_and_a_refused_one_stores_nothing(app, client):
    schema = enquiry_schema(client)
    fields = st.sampled_from([*TEXT_FIELDS, "consent", "unknown"])

    @FUZZ
    @given(changes=st.dictionaries(fields, json_values | st.text(), min_size=1, max_size=4),
           drop=st.lists(fields, max_size=2))
    def check(changes, drop):
        body = {**valid_payload(), **changes}
        for name in drop:
            body.pop(name, None)
        before = count(app, Enquiry)
        response = raw_post(client, json.dumps(body, allow_nan=True))
        assert response.status_code < 500, body
        if response.status_code == 201:
            assert count(app, Enquiry) == before + 1
        else:
            assert response.status_code in (400, 422), body
            assert count(app, Enquiry) == before
        if jsonschema.Draft202012Validator(schema).is_valid(body):
            assert response.status_code == 201, body

    check()
