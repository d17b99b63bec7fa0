"""The fixed vocabularies of an enquiry (CONTRACT §3), with English and Danish labels."""

import pycountry

SECTORS = {
    "medtech": ("Medical technology", "Medicinsk teknologi"),
    "biotech": ("Biotechnology", "Bioteknologi"),
    "pharma": ("Pharmaceuticals", "Lægemidler"),
    "healthit": ("Health IT", "Sundheds-IT"),
    "robotics": ("Robotics and automation", "Robotter og automation"),
    "other": ("Other", "Andet"),
}

TOPICS = {
    "establishment": ("Establishing a company or site", "Etablering af virksomhed eller afdeling"),
    "clinical_trials": ("Clinical trials", "Kliniske forsøg"),
    "research_partnership": ("Research partnership", "Forskningssamarbejde"),
    "talent": ("Talent and recruitment", "Talent og rekruttering"),
    "funding": ("Funding and investment", "Finansiering og investering"),
    "other": ("Other", "Andet"),
}

LANGUAGES = {"en": ("English", "Engelsk"), "da": ("Danish", "Dansk")}

SOURCES = ("form", "api", "manual", "import")


def label(vocabulary, code, language="en"):
    english, danish = vocabulary[code]
    return danish if language == "da" else english


def countries():
    """ISO 3166-1 alpha-2 codes and names, sorted by name (Denmark is not special-cased)."""
    return sorted(
        ({"code": c.alpha_2, "label": getattr(c, "common_name", c.name)} for c in pycountry.countries),
        key=lambda c: c["label"],
    )


def country_name(code):
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", country.name) if country else code


def as_options(vocabulary, language="en"):
    return [{"code": code, "label": label(vocabulary, code, language)} for code in vocabulary]
