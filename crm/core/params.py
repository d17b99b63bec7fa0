"""The one place where ids and numbers from URLs, query strings and forms become integers.

`str.isdigit()` accepts '²' (which `int()` refuses) and `int()` accepts '٣', ' 7', '+7' and
'1_000'; a number past 64 bits makes SQLite raise OverflowError. So a number here is ASCII
digits only, within bounds; anything else is refused with 400 (query, form) or 404 (path).
A NUL character anywhere in a path, query or form is refused with 400.
"""

import re

from flask import abort, request
from werkzeug.routing import IntegerConverter, ValidationError

# Primary keys are 32-bit on every database we run; nothing larger can name a row.
MAX_ID = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,16}")  # the bounds decide; this keeps int() cheap


def parse_int(value, *, minimum=1, maximum=MAX_ID):
    """The whole number `value` spells in ASCII digits, within [minimum, maximum]; else None."""
    if not isinstance(value, str) or not _ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def query_int(args, name, *, default=None, minimum=1, maximum=MAX_ID):
    """`args[name]` as a number; absent or empty gives `default`; anything else answers 400."""
    value = args.get(name, "")
    if value == "":
        return default
    number = parse_int(value, minimum=minimum, maximum=maximum)
    if number is None:
        abort(400, f"“{name}” must be a whole number from {minimum} to {maximum}.")
    return number


def form_int(value):
    """A WTForms `coerce` for ids posted in forms: ValueError (an invalid choice) unless a valid id.

    WTForms also coerces the choices themselves, which are ints already.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = parse_int(value)
    if number is None:
        raise ValueError("not an id")
    return number


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits and at most MAX_ID, else the route does not match (404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        if signed:
            raise ValueError("ids are never negative")
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)

    def to_python(self, value):
        if len(value) > 10:  # refuse before int() reads a ten-thousand-digit string
            raise ValidationError()
        return super().to_python(value)


def register_converters(app):
    """Replace Werkzeug's `int` converter before any blueprint adds a route; refuse NUL."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_characters)


def _has_nul(values):
    return any("\x00" in key or any("\x00" in v for v in values.getlist(key)) for key in values)


def refuse_nul_characters():
    """400 for a NUL character in the path, query or form: no field has a use for one, and
    PostgreSQL refuses it in text (a 500 wherever such a value reached a query).

    The JSON API answers its own errors (CONTRACT §3) and is left to its validation.
    """
    if request.path.startswith("/api/"):
        return
    if "\x00" in request.path or _has_nul(request.args) or (
            request.method == "POST" and _has_nul(request.form)):
        abort(400, "A value holds a NUL character.")
