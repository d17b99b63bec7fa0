"""The fixed vocabularies of an enquiry (CONTRACT §3), with English and Danish labels."""

import functools
import unicodedata

import pycountry
from babel import Locale

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


@functools.cache
def countries(language="en"):
    """ISO 3166-1 alpha-2 codes and names in `language` (CLDR), sorted by name."""
    names = Locale.parse(language).territories
    return sorted(
        ({"code": c.alpha_2, "label": names.get(c.alpha_2) or getattr(c, "common_name", c.name)}
         for c in pycountry.countries),
        key=lambda c: strxfrm_key(c["label"]),
    )


def strxfrm_key(text):
    """Accents ignored: near enough for a select list in either language."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def country_name(code):
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", country.name) if country else code


def as_options(vocabulary, language="en"):
    return [{"code": code, "label": label(vocabulary, code, language)} for code in vocabulary]


def as_bilingual_options(vocabulary, language="en"):
    """Options with the label in `language` and in every language (GET /api/v1/options)."""
    return [{"code": code, "label": label(vocabulary, code, language),
             "labels": {lang: label(vocabulary, code, lang) for lang in LANGUAGES}} for code in vocabulary]
