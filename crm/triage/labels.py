"""The agency's words for codes staff see: statuses, priorities, project types, languages."""

from markupsafe import Markup

STATUS_LABELS = {
    "new": "new",
    "contacted": "contacted (information sent)",
    "qualified": "qualified",
    "meeting": "meeting (site visit)",
    "proposal": "proposal (decision pending)",
    "won": "won (landed)",
    "lost": "lost",
    "spam": "spam",
}

# A symbol as well as a colour, so that priorities differ for people who do not see colour.
PRIORITY_LABELS = {"high": "high", "normal": "normal", "low": "low"}
PRIORITY_ICONS = {"high": "▲", "normal": "●", "low": "▽"}

PROJECT_TYPES = {
    "greenfield": "greenfield (new establishment)",
    "expansion": "expansion of an existing site",
    "r_and_d": "research and development",
    "partnership": "partnership",
    "other": "other",
}

PROJECT_FIELDS = {
    "project_type": "investment type",
    "planned_jobs": "planned jobs",
    "planned_capex_eur": "planned capex (EUR)",
    "realised_jobs": "realised jobs",
    "realised_capex_eur": "realised capex (EUR)",
}

SOURCE_LABELS = {"form": "the web form", "api": "the website (API)", "manual": "recorded by hand",
                 "import": "import"}


def status_label(code):
    return STATUS_LABELS.get(code, code)


def priority_badge(code):
    """The priority as icon + word: never colour alone."""
    return Markup('<span class="priority priority-{0}"><span aria-hidden="true">{1}</span> {2}</span>').format(
        code, PRIORITY_ICONS.get(code, ""), PRIORITY_LABELS.get(code, code))


def status_badge(code):
    return Markup('<span class="status status-{0}">{1}</span>').format(code, status_label(code))
