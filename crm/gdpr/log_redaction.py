"""Keep email addresses out of request logs.

The subject search and `subject.json?email=…` carry an address in the query string, which the
development server's access log (the `werkzeug` logger) would write out. This filter replaces
every address in a log record with `[email]` before any handler sees it.
"""

import logging
import re

EMAIL_RE = re.compile(r"[^\s/?&=\"'<>]+(?:@|%40)[^\s/?&=\"'<>]+\.[^\s/?&=\"'<>]+")


def redact(text):
    return EMAIL_RE.sub("[email]", text)


def _redacted(value):
    return redact(value) if isinstance(value, str) else value


class RedactEmails(logging.Filter):
    """Redacts the message and each argument in place, so that formatters that read the
    arguments (gunicorn's access atoms, e.g. the request id) still find them."""

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redacted(value) for value in record.args)
        return True


def install():
    """Add the filter to the access-log loggers once per process."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactEmails) for f in logger.filters):
            logger.addFilter(RedactEmails())
