"""The public enquiry form. Validation lives in validate_enquiry; the time trap in time_trap."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TelField, TextAreaField

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, countries, label


class EnquiryForm(FlaskForm):
    name = StringField("Your name")
    email = EmailField("Email")
    company = StringField("Company (optional)")
    phone = TelField("Phone (optional)")
    country = SelectField("Country", validate_choice=False)
    sector = SelectField("Sector", validate_choice=False)
    topic = SelectField("Topic", validate_choice=False)
    message = TextAreaField("Message")
    language = SelectField("Preferred language", validate_choice=False)
    consent = BooleanField("I accept that my contact information is processed in accordance with "
                           "Invest in Aalborg's privacy policy.")
    policy_version = HiddenField()
    # Honeypot: hidden from people by CSS and aria-hidden; bots fill it in.
    website = StringField("Leave this field empty")
    started = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", "Choose a country")] + [(c["code"], c["label"]) for c in countries()]
        self.sector.choices = [("", "Choose a sector")] + [(code, label(SECTORS, code)) for code in SECTORS]
        self.topic.choices = [("", "Choose a topic")] + [(code, label(TOPICS, code)) for code in TOPICS]
        self.language.choices = [(code, label(LANGUAGES, code)) for code in LANGUAGES]

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
