"""One validator for every way an enquiry arrives: form, API, staff entry and the seed command."""

import re
import unicodedata

import pycountry
from email_validator import EmailNotValidError, validate_email

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS

MAX_LENGTHS = {"name": 200, "email": 254, "company": 200, "phone": 40, "message": 5000}
PHONE_RE = re.compile(r"^\+?[0-9 ().\-/]{6,40}$")


class EnquiryInvalid(Exception):
    """The input was refused; `fields` maps each bad field to its messages."""

    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


def _has_control_chars(value, allow_newlines=False):
    allowed = {"\n", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} and ch not in allowed for ch in value)


def _text(raw, field, errors, *, required, multiline=False):
    """Trim, normalise (NFC) and check a text field; returns "" for an absent optional one."""
    value = raw.get(field)
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Must be a string.")
        return ""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not value:
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return ""
    if len(value) > MAX_LENGTHS[field]:
        errors.setdefault(field, []).append(f"Must be at most {MAX_LENGTHS[field]} characters.")
    elif _has_control_chars(value, allow_newlines=multiline):
        errors.setdefault(field, []).append("Must not contain control characters.")
    return value


def _choice(raw, field, choices, errors, *, required=True, default=None):
    value = raw.get(field)
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return default
    if not isinstance(value, str) or value not in choices:
        errors.setdefault(field, []).append(f"Must be one of: {', '.join(choices)}.")
        return default
    return value


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
            errors.setdefault("email", []).append(str(error))
    clean["email"] = email

    if clean["phone"] and "phone" not in errors and not PHONE_RE.match(clean["phone"]):
        errors.setdefault("phone", []).append("Use digits, spaces and + ( ) - only.")

    country = raw.get("country")
    if country is None or country == "":
        errors.setdefault("country", []).append("This field is required.")
    elif not isinstance(country, str) or len(country.strip()) != 2 or not pycountry.countries.get(
        alpha_2=country.strip().upper()
    ):
        errors.setdefault("country", []).append("Must be an ISO 3166-1 alpha-2 country code.")
    else:
        clean["country"] = country.strip().upper()

    clean["sector"] = _choice(raw, "sector", list(SECTORS), errors)
    clean["topic"] = _choice(raw, "topic", list(TOPICS), errors)
    clean["language"] = _choice(raw, "language", list(LANGUAGES), errors, required=False, default="en")

    if consent_required:
        if raw.get("consent") is not True:
            errors.setdefault("consent", []).append("You must accept the privacy policy.")
        version = raw.get("policy_version")
        if version is None or version == "":
            errors.setdefault("policy_version", []).append("This field is required.")
        elif version != current_policy_version:
            errors.setdefault("policy_version", []).append(
                f"The privacy policy has changed: the current version is {current_policy_version}."
            )
        clean["policy_version"] = version

    if errors:
        raise EnquiryInvalid(errors)
    return clean
