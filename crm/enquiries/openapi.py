"""The OpenAPI 3.1 description of the public API, built from the same vocabularies it checks."""

import functools
import re
import sys
import unicodedata

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.enquiries.validation import (
    FORBIDDEN_CATEGORIES,
    MAX_LENGTHS,
    MULTILINE_ALLOWED,
    country_codes,
)

# What the validator accepts, as patterns (the same in Python and ECMA-262 regular expressions).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20}){0,2}"
_SPECIAL_USE_TLD = "|".join(
    "".join(f"[{c.upper()}{c}]" for c in name)
    for name in ("arpa", "invalid", "local", "localhost", "onion", "test")
)
# A plain ASCII address that email-validator always accepts. The API accepts more (for example
# internationalised domain names), but everything this pattern allows is accepted.
EMAIL_PATTERN = (
    rf"^{_ATEXT}{{1,16}}(\.{_ATEXT}{{1,15}}){{0,3}}@({_LABEL}\.){{1,3}}"
    rf"(?!(?:{_SPECIAL_USE_TLD})$)[A-Za-z]{{2,20}}$"
)
# Optional; surrounding spaces are trimmed, then "+" and 6-40 digits, spaces and ( ) . - /.
_SPACE = r"[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"  # Zs: whitespace that is no control
PHONE_PATTERN = (
    rf"^{_SPACE}*(|\+[0-9 ().\-/]{{5,39}}[0-9().\-/]|[0-9().\-/][0-9 ().\-/]{{4,38}}[0-9().\-/])"
    rf"{_SPACE}*$"
)


@functools.cache
def _forbidden_class(multiline):
    """A character class of what the validator refuses (control, format, surrogate, separators)."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    ranges, start = [], None
    for code in range(sys.maxunicode + 2):
        bad = code <= sys.maxunicode and unicodedata.category(chr(code)) in FORBIDDEN_CATEGORIES \
            and chr(code) not in allowed
        if bad and start is None:
            start = code
        elif not bad and start is not None:
            ranges.append((start, code - 1))
            start = None
    return "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges)


def _escape(code):
    return f"\\u{code:04x}" if code <= 0xFFFF else re.escape(chr(code))


def _text_pattern(required, multiline=False):
    bad = _forbidden_class(multiline)
    if required:  # at least one character that is neither refused nor whitespace
        return f"^[^{bad}]*[^{bad}\\s][^{bad}]*$"
    return f"^[^{bad}]*$"


def _error(description, schema="Error"):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _string(field, **extra):
    return {"type": "string", "maxLength": MAX_LENGTHS[field], **extra}


def _optional(schema):
    return {**schema, "type": ["string", "null"]}


def openapi_document(policy_version):
    """The document; `policy_version` is the current policy's, the only one the API accepts."""
    enquiry = {
        "type": "object",
        "required": ["name", "email", "country", "sector", "topic", "message", "consent",
                     "policy_version"],
        "properties": {
            "name": _string("name", minLength=1, pattern=_text_pattern(True)),
            "email": _string("email", format="email", pattern=EMAIL_PATTERN,
                             description="Internationalised domain names are accepted too."),
            "company": _optional(_string("company", pattern=_text_pattern(False))),
            "phone": _optional(_string("phone", pattern=PHONE_PATTERN)),
            "country": {"type": "string", "enum": sorted(country_codes()), "maxLength": 2,
                        "description": "ISO 3166-1 alpha-2 code"},
            "sector": {"type": "string", "enum": list(SECTORS), "maxLength": max(map(len, SECTORS))},
            "topic": {"type": "string", "enum": list(TOPICS), "maxLength": max(map(len, TOPICS))},
            "message": _string("message", minLength=1, pattern=_text_pattern(True, multiline=True)),
            "consent": {"const": True, "description": "Explicit consent to the privacy policy"},
            "policy_version": {"type": "string", "enum": [policy_version],
                               "maxLength": len(policy_version),
                               "description": "The current privacy policy's version "
                                              "(GET /privacy-policy)"},
            "language": {"type": ["string", "null"], "enum": [*LANGUAGES, None], "default": "en",
                         "maxLength": 2},
        },
        "additionalProperties": True,
        "description": "Unknown fields are ignored and never stored.",
    }
    option = {"type": "object", "required": ["code", "label"],
              "properties": {"code": {"type": "string"}, "label": {"type": "string"}}}
    labelled = {"type": "object", "required": ["code", "label", "labels"],
                "properties": {"code": {"type": "string"}, "label": {"type": "string"},
                               "labels": {"type": "object", "required": list(LANGUAGES),
                                          "additionalProperties": {"type": "string"}}}}
    lang = {"name": "lang", "in": "query", "required": False,
            "schema": {"type": "string", "enum": list(LANGUAGES), "default": "en"},
            "description": "The language of the labels and text (English when absent or unknown)"}
    rate_limited = {
        **_error("Rate limited"),
        "headers": {"Retry-After": {"schema": {"type": "integer"},
                                    "description": "Seconds until a new request is accepted"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Invest in Aalborg enquiry API",
            "version": "1.0.0",
            "description": "Submit investor enquiries with explicit, provable consent.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/enquiries": {
                "post": {
                    "operationId": "createEnquiry",
                    "summary": "Submit an enquiry",
                    "parameters": [{
                        "name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "maxLength": 255, "pattern": "^[ -~]*$"},
                        "description": "Repeat the same key within 24 hours to get the first "
                                       "answer again without storing anything new.",
                    }],
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Enquiry"}}}},
                    "responses": {
                        "201": {"description": "Stored", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Submission"}}}},
                        "400": _error("The body is not a JSON object"),
                        "409": _error("The Idempotency-Key was used with a different body"),
                        "413": _error("The body is over 64 KiB"),
                        "415": _error("The body is not application/json"),
                        "422": _error("Validation failed", "ValidationError"),
                        "429": rate_limited,
                    },
                }
            },
            "/options": {
                "get": {
                    "operationId": "getOptions",
                    "summary": "Sectors, topics, countries and languages accepted by the API",
                    "parameters": [lang],
                    "responses": {"200": {"description": "The vocabularies", "content": {
                        "application/json": {"schema": {
                            "type": "object",
                            "required": ["sectors", "topics", "countries", "languages"],
                            "properties": {
                                "sectors": {"type": "array", "items": labelled},
                                "topics": {"type": "array", "items": labelled},
                                "countries": {"type": "array", "items": option},
                                "languages": {"type": "array", "items": labelled},
                            }}}}}},
                }
            },
            "/privacy-policy": {
                "get": {
                    "operationId": "getPrivacyPolicy",
                    "summary": "The current privacy policy",
                    "parameters": [lang],
                    "responses": {"200": {"description": "The current policy", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["version", "text", "published_at"],
                            "properties": {
                                "version": {"type": "string"},
                                "language": {"type": "string", "enum": list(LANGUAGES)},
                                "sha256": {"type": "string"},
                                "text": {"type": "string"},
                                "published_at": {"type": "string", "format": "date-time"},
                            }}}}}},
                }
            },
        },
        "components": {
            "schemas": {
                "Enquiry": enquiry,
                "Submission": {
                    "type": "object", "required": ["reference", "status"],
                    "properties": {"reference": {"type": "string"},
                                   "status": {"type": "string", "const": "received"}},
                },
                "Error": {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}}},
                "ValidationError": {
                    "type": "object", "required": ["error", "fields"],
                    "properties": {
                        "error": {"const": "validation_failed"},
                        "fields": {"type": "object", "additionalProperties": {
                            "type": "array", "items": {"type": "string"}}},
                    },
                },
            }
        },
    }
