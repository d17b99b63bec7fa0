"""Where to send a user after login: only a path on this site (no open redirect)."""

from urllib.parse import urlsplit

from flask import url_for


def safe_next(target):
    """`target` if it is a local path, else None.

    Refused: absolute and scheme-relative URLs (`https://evil.example`, `//evil.example`),
    backslash tricks (`/\\evil.example`, which browsers read as `//`), and control characters.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def after_login_url(target):
    return safe_next(target) or url_for("staff.inbox")
