"""Security headers on every response, and the client address as the app sees it."""

from flask import current_app, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


# Pages that show personal data or credentials must never be stored by a browser or proxy.
PRIVATE_PREFIXES = ("/staff", "/admin", "/login", "/logout", "/password", "/account")


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # X-Frame-Options cannot name origins: a page whose CSP allows framers (the embeddable form)
    # must not also say DENY.
    if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.path.startswith(PRIVATE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return response


def client_address():
    """The client's address; ProxyFix has already applied CRM_TRUSTED_PROXIES."""
    return request.remote_addr


def user_agent():
    return (request.user_agent.string or "")[:300] or None
