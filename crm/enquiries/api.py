"""The public JSON API (CONTRACT §3)."""

import json
import re

from flask import Blueprint, current_app, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from crm.core.security import client_address, user_agent
from crm.enquiries.openapi import openapi_document
from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, as_bilingual_options, countries
from crm.enquiries.policy import current_policy
from crm.enquiries.services import IdempotencyConflict, submit_enquiry
from crm.enquiries.validation import EnquiryInvalid
from crm.enquiries.views import submission_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY_RE = re.compile(r"[ -~]+")


@bp.record_once
def _enable_cors(state):
    CORS(state.app, resources={r"/api/v1/*": {"origins": state.app.config["CRM_CORS_ORIGINS"]}},
         allow_headers=["Content-Type", "Idempotency-Key"], methods=["GET", "POST", "OPTIONS"])


def _read_json_object():
    """The body as a dict, or the contract's 413 / 415 / 400."""
    limit = current_app.config["CRM_API_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if not request.is_json:
        raise UnsupportedMediaType("Send the enquiry as application/json.")
    # Read one byte past the limit, so that a chunked body of unknown length is bounded too.
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        # RecursionError: nesting deeper than Python's stack (20,000 brackets); ValueError also
        # covers integers of more digits than Python converts.
        raise BadRequest("The body is not valid JSON.") from error
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _error(status, error, **extra):
    response = jsonify({"error": error, **extra})
    response.status_code = status
    return response


@bp.post("/enquiries")
@submission_limit
def create_enquiry():
    body = _read_json_object()
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key and len(key) > MAX_IDEMPOTENCY_KEY:
        return _error(400, "idempotency_key_too_long")
    if key and not IDEMPOTENCY_KEY_RE.fullmatch(key):  # printable ASCII: no NUL for the database
        return _error(400, "idempotency_key_invalid")
    try:
        submission = submit_enquiry(
            body, source="api", ip_address=client_address(), user_agent=user_agent(),
            idempotency_key=key, policy_language=_policy_language(body),
        )
    except EnquiryInvalid as invalid:
        return _error(422, "validation_failed", fields=invalid.fields)
    except IdempotencyConflict:
        return _error(409, "idempotency_key_reused",
                      message="This Idempotency-Key was used with a different body.")
    # A replay returns the first answer, status included.
    response = jsonify(submission.as_json())
    response.status_code = 201
    if submission.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _policy_language(body):
    """The consent is to the policy text in the enquiry's language (GET /privacy-policy?lang=)."""
    language = body.get("language")
    return language if isinstance(language, str) and language in LANGUAGES else "en"


def _requested_language():
    language = request.args.get("lang", "en")
    return language if language in LANGUAGES else "en"


@bp.get("/options")
def options():
    """Labels in `?lang=` (English by default), and in every language under `labels`."""
    language = _requested_language()
    return jsonify({
        "sectors": as_bilingual_options(SECTORS, language),
        "topics": as_bilingual_options(TOPICS, language),
        "countries": countries(language),
        "languages": as_bilingual_options(LANGUAGES, language),
    })


@bp.get("/privacy-policy")
def privacy_policy():
    """The current policy; `?lang=da` gives its Danish text (same version, its own SHA-256)."""
    policy = current_policy(_requested_language())
    return jsonify({
        "version": policy.version,
        "language": policy.language,
        "text": policy.text,
        "sha256": policy.sha256,
        "published_at": policy.published_at.isoformat().replace("+00:00", "Z"),
    })


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_policy().version))
