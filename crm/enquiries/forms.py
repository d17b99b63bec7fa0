"""The public enquiry form. Validation lives in validate_enquiry; the time trap in time_trap."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TelField, TextAreaField

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, countries, label
from crm.i18n import current_language


class EnquiryForm(FlaskForm):
    # autocomplete tokens (WCAG 1.3.5) let browsers fill in what they know.
    name = StringField(_l("Your name"), render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email"), render_kw={"autocomplete": "email", "spellcheck": "false"})
    company = StringField(_l("Company (optional)"), render_kw={"autocomplete": "organization"})
    phone = TelField(_l("Phone (optional)"), render_kw={"autocomplete": "tel"})
    country = SelectField(_l("Country"), validate_choice=False, render_kw={"autocomplete": "country"})
    sector = SelectField(_l("Sector"), validate_choice=False)
    topic = SelectField(_l("Topic"), validate_choice=False)
    message = TextAreaField(_l("Message"))
    language = SelectField(_l("Preferred language for our answer"), validate_choice=False)
    consent = BooleanField(_l(
        "I accept that my contact information is processed in accordance with Invest in Aalborg's privacy policy."))
    policy_version = HiddenField()
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill it in.
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lang = current_language()
        self.country.choices = [("", _("Choose a country"))] + [
            (c["code"], c["label"]) for c in countries(lang)]
        self.sector.choices = [("", _("Choose a sector"))] + [(c, label(SECTORS, c, lang)) for c in SECTORS]
        self.topic.choices = [("", _("Choose a topic"))] + [(c, label(TOPICS, c, lang)) for c in TOPICS]
        # Each language named in its own tongue.
        self.language.choices = [(code, label(LANGUAGES, code, code)) for code in LANGUAGES]
        if not self.is_submitted():
            self.language.data = lang

    def as_submission(self, shown_policy_version):
        """The posted values as the service expects them (the same names as the JSON API).

        A post without `policy_version` accepted the policy the page showed: the current one.
        """
        fields = ("name", "email", "company", "phone", "country", "sector", "topic", "message",
                  "language", "policy_version")
        raw = {field: self[field].data for field in fields}
        raw["policy_version"] = raw["policy_version"] or shown_policy_version
        raw["consent"] = bool(self.consent.data)
        return raw
