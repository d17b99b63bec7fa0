"""The OpenAPI 3.1 description of the public API, built from the same vocabularies it checks."""

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.enquiries.validation import MAX_LENGTHS


def _error(description, schema="Error"):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _string(field, **extra):
    return {"type": "string", "maxLength": MAX_LENGTHS[field], **extra}


def openapi_document():
    enquiry = {
        "type": "object",
        "required": ["name", "email", "country", "sector", "topic", "message", "consent",
                     "policy_version"],
        "properties": {
            "name": _string("name", minLength=1),
            "email": _string("email", format="email"),
            "company": _string("company"),
            "phone": _string("phone", pattern=r"^\+?[0-9 ().\-/]{6,40}$"),
            "country": {"type": "string", "pattern": "^[A-Za-z]{2}$",
                        "description": "ISO 3166-1 alpha-2 code"},
            "sector": {"type": "string", "enum": list(SECTORS)},
            "topic": {"type": "string", "enum": list(TOPICS)},
            "message": _string("message", minLength=1),
            "consent": {"const": True, "description": "Explicit consent to the privacy policy"},
            "policy_version": {"type": "string",
                               "description": "Must equal the current privacy policy's version"},
            "language": {"type": "string", "enum": list(LANGUAGES), "default": "en"},
        },
        "additionalProperties": True,
        "description": "Unknown fields are ignored and never stored.",
    }
    option = {"type": "object", "required": ["code", "label"],
              "properties": {"code": {"type": "string"}, "label": {"type": "string"}}}
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
                        "schema": {"type": "string", "maxLength": 255},
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
                    "summary": "Sectors, topics and countries accepted by the API",
                    "responses": {"200": {"description": "The vocabularies", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["sectors", "topics", "countries"],
                            "properties": {
                                "sectors": {"type": "array", "items": option},
                                "topics": {"type": "array", "items": option},
                                "countries": {"type": "array", "items": option},
                            }}}}}},
                }
            },
            "/privacy-policy": {
                "get": {
                    "operationId": "getPrivacyPolicy",
                    "summary": "The current privacy policy",
                    "responses": {"200": {"description": "The current policy", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["version", "text", "published_at"],
                            "properties": {
                                "version": {"type": "string"},
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
