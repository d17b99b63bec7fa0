"""Logs: one line per event (JSON in production), each naming the request it belongs to.

Messages name records by id or reference, never by personal data; the request id ties the
app's lines to gunicorn's access line and to the proxy's log (X-Request-ID).
"""

import logging
import re
import uuid

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# A proxy's id is kept when it looks like one; anything else (too long, odd characters that
# could forge log lines) is replaced by our own.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current_request_id():
    return g.get("request_id", "-") if has_request_context() else "-"


class TextFormatter(logging.Formatter):
    def format(self, record):
        record.request_id = getattr(record, "request_id", None) or current_request_id()
        return super().format(record)


class JsonFormatter(_JsonFormatter):
    """`{"time", "level", "logger", "message", "request_id", …}` per line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        log_record["request_id"] = (getattr(record, "request_id", None) or _access_request_id(record)
                                    or current_request_id())


def _access_request_id(record):
    """gunicorn's access lines carry the response's X-Request-ID among their atoms."""
    if record.name == "gunicorn.access" and isinstance(record.args, dict):
        value = record.args.get("{x-request-id}o")
        return value if value and value != "-" else None
    return None


def configure_logging(app):
    """One handler on the root logger, in the format CRM_LOG_FORMAT names (json or text)."""
    formatter = JsonFormatter() if app.config["CRM_LOG_FORMAT"] == "json" else TextFormatter(TEXT_FORMAT)
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if getattr(handler, "crm_handler", False):  # create_app twice: replace, never add
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.crm_handler = True
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    app.logger.setLevel(logging.INFO)


def register_request_ids(app):
    """X-Request-ID: the proxy's when it sends a sane one, else a new one; echoed back."""

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        return response
