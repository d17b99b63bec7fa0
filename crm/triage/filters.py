"""Template filters of the staff pages: local times, the agency's words for codes, line breaks."""

from flask import current_app
from markupsafe import Markup, escape

from crm.enquiries.options import LANGUAGES, label
from crm.triage.calendar import agency_zone
from crm.triage.labels import PROJECT_TYPES, priority_badge, status_badge, status_label


def local_time(value, fmt="%Y-%m-%d %H:%M"):
    """An aware UTC datetime in CRM_TIMEZONE, with the zone's abbreviation (CET, CEST)."""
    if value is None:
        return ""
    local = value.astimezone(agency_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def nl2br(text):
    """Plain text, escaped, with its line breaks kept."""
    return Markup("<br>\n").join(escape(line) for line in (text or "").splitlines())


def language_label(code):
    return label(LANGUAGES, code) if code in LANGUAGES else code


def register(bp):
    for name, function in {
        "local_time": local_time, "nl2br": nl2br, "status_label": status_label,
        "status_badge": status_badge, "priority_badge": priority_badge,
        "language_label": language_label,
        "project_type_label": lambda code: PROJECT_TYPES.get(code, code or ""),
    }.items():
        bp.add_app_template_filter(function, name)
    bp.add_app_template_global(lambda: current_app.config["CRM_TIMEZONE"], "crm_timezone")
