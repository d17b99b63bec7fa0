"""One validator for every way an enquiry arrives: form, API, staff entry and the seed command."""

import functools
import re
import unicodedata

import pycountry
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.i18n import current_language

MAX_LENGTHS = {"name": 200, "email": 254, "company": 200, "phone": 40, "message": 5000}
PHONE_RE = re.compile(r"^\+?[0-9 ().\-/]{6,40}$")


class EnquiryInvalid(Exception):
    """The input was refused; `fields` maps each bad field to its messages."""

    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


# Control and format characters, lone surrogates and line/paragraph separators are refused:
# they hide text, break exports and (lone surrogates) cannot even be stored as UTF-8.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
MULTILINE_ALLOWED = frozenset("\n\r\t")


def _has_forbidden_chars(value, multiline=False):
    if value.isprintable():  # no character of the categories "Other" or "Separator": at C speed
        return False
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(unicodedata.category(ch) in FORBIDDEN_CATEGORIES and ch not in allowed for ch in value)


def _normalise(value):
    """Unify line ends, compose (NFC) unless that would lengthen the text, trim."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    composed = unicodedata.normalize("NFC", value)
    return (composed if len(composed) <= len(value) else value).strip()


def _text(raw, field, errors, *, required, multiline=False):
    """Check and clean a text field; returns "" for an absent optional one.

    Lengths count the characters as sent (as the OpenAPI document's maxLength does), and the
    cleaned text is never longer than that, so it always fits its column.
    """
    value = raw.get(field)
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Must be a string."))
        return ""
    if len(value) > MAX_LENGTHS[field]:
        errors.setdefault(field, []).append(_("Must be at most %(max)d characters.", max=MAX_LENGTHS[field]))
        return ""
    if _has_forbidden_chars(value, multiline=multiline):
        errors.setdefault(field, []).append(_("Must not contain control characters."))
        return ""
    value = _normalise(value)
    if not value and required:
        errors.setdefault(field, []).append(_("This field is required."))
    return value


def _choice(raw, field, choices, errors, *, required=True, default=None):
    value = raw.get(field)
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return default
    if not isinstance(value, str) or value not in choices:
        errors.setdefault(field, []).append(_("Must be one of: %(choices)s.", choices=", ".join(choices)))
        return default
    return value


@functools.cache
def country_codes():
    """Every ISO 3166-1 alpha-2 code, as the API and the OpenAPI document accept them."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


def normalise_email(value):
    """The address as a contact is keyed: validated without DNS, then lower-cased.

    A non-ASCII local part ("søren@…") needs SMTPUTF8, which Flask-Mail and many servers lack:
    refusing it here beats an acknowledgement that can never be delivered. IDN domains are fine.
    """
    result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    return result.normalized.lower()


def validate_enquiry(raw, current_policy_version, *, consent_required=True):
    """Return the cleaned enquiry fields of `raw`, or raise EnquiryInvalid with every error.

    Only the known fields are read: anything else in `raw` is ignored and never stored.
    """
    errors = {}
    clean = {
        "name": _text(raw, "name", errors, required=True),
        "company": _text(raw, "company", errors, required=False),
        "phone": _text(raw, "phone", errors, required=False),
        "message": _text(raw, "message", errors, required=True, multiline=True),
    }

    email = _text(raw, "email", errors, required=True)
    if email and "email" not in errors:
        try:
            email = normalise_email(email)
        except EmailNotValidError as error:
            # The library explains in English; other languages get a plain request.
            errors.setdefault("email", []).append(
                str(error) if current_language() == "en"
                else _("Enter a valid email address, like name@example.com."))
        else:
            if len(email) > MAX_LENGTHS["email"]:  # lower-casing can lengthen an IDN domain
                errors.setdefault("email", []).append(
                    _("Must be at most %(max)d characters.", max=MAX_LENGTHS["email"]))
    clean["email"] = email

    if clean["phone"] and "phone" not in errors and not PHONE_RE.match(clean["phone"]):
        errors.setdefault("phone", []).append(_("Use digits, spaces and + ( ) - only."))

    country = raw.get("country")
    if country is None or country == "":
        errors.setdefault("country", []).append(_("This field is required."))
    elif not isinstance(country, str) or country.strip().upper() not in country_codes():
        errors.setdefault("country", []).append(_("Must be an ISO 3166-1 alpha-2 country code."))
    else:
        clean["country"] = country.strip().upper()

    clean["sector"] = _choice(raw, "sector", list(SECTORS), errors)
    clean["topic"] = _choice(raw, "topic", list(TOPICS), errors)
    clean["language"] = _choice(raw, "language", list(LANGUAGES), errors, required=False, default="en")

    if consent_required:
        if raw.get("consent") is not True:
            errors.setdefault("consent", []).append(_("You must accept the privacy policy."))
        version = raw.get("policy_version")
        if version is None or version == "":
            errors.setdefault("policy_version", []).append(_("This field is required."))
        elif version != current_policy_version:
            errors.setdefault("policy_version", []).append(
                _("The privacy policy has changed: the current version is %(version)s.",
                  version=current_policy_version)
            )
        clean["policy_version"] = version

    if errors:
        raise EnquiryInvalid(errors)
    return clean
