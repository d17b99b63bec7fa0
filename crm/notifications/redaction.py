"""Secrets in queued mail that admins must not read: one-time links to set a password.

An admin reading a password-reset or invitation link at /admin/outbox could use it and take
over the account; a withdrawal link would let them withdraw a prospect's consent. The outbox
view shows these links with their token replaced.
"""

import re

SECRET_LINK_RE = re.compile(r"(/(?:password/reset|password/set|privacy/withdraw)/)[A-Za-z0-9_.\-]+")
REDACTED = "[redacted]"


def redact_secrets(text):
    return SECRET_LINK_RE.sub(rf"\g<1>{REDACTED}", text or "")
