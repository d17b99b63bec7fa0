"""Languages of the public site (Flask-Babel): English and Danish.

The visitor's language: `?lang=` (kept in the session for the visit), else the session, else the
browser's Accept-Language, else English. The JSON API answers in English whatever the browser
says, so that programs see stable messages; the staff pages are in English. Catalogues live in
`translations/` (the .po files are committed; `make install` compiles them to .mo).
"""

from pathlib import Path

from flask import has_request_context, request, session
from flask_babel import Babel, get_locale

LOCALES = ("en", "da")
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
SESSION_KEY = "lang"

babel = Babel()


def select_locale():
    # Only the public pages (and error pages, which have no blueprint) are translated.
    if not has_request_context() or request.blueprint not in (None, "public"):
        return "en"
    requested = request.args.get("lang")
    if requested in LOCALES:
        session[SESSION_KEY] = requested
        return requested
    if session.get(SESSION_KEY) in LOCALES:
        return session[SESSION_KEY]
    return request.accept_languages.best_match(LOCALES) or "en"


def current_language():
    """The language code of the page being rendered ("en" outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LOCALES else "en"


def init_app(app):
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_language=current_language, LOCALES=LOCALES)
    app.jinja_env.filters["http_status_name"] = http_status_name


def http_status_name(code):
    """Werkzeug's English name of an HTTP status: error pages translate the ones they know."""
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(code, "")
