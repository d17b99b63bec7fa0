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


class RedactEmails(logging.Filter):
    def filter(self, record):
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = ()
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install():
    """Add the filter to the access-log loggers once per process."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactEmails) for f in logger.filters):
            logger.addFilter(RedactEmails())
