"""Forms of the assign control, the rules pages, the preview and away-until.

Ids arrive as text and are parsed by the views (`crm.core.params.parse_int`), so a forged value is a 422, never
a 500; the services validate everything that matters.
"""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, label
from crm.staff.forms import CheckboxesField


def _choices(vocabulary):
    return [SelectChoice(code, label(vocabulary, code)) for code in vocabulary]


class AssignForm(FlaskForm):
    assignee_id = StringField("Assign to")
    confirm = HiddenField()


class RuleForm(FlaskForm):
    user_id = SelectField("Give matching enquiries to", validate_choice=False)
    sectors = CheckboxesField("Sectors (none: any)", choices=_choices(SECTORS), validate_choice=False)
    topics = CheckboxesField("Topics (none: any)", choices=_choices(TOPICS), validate_choice=False)
    countries = StringField("Countries (ISO codes, comma-separated; empty: any)",
                            description="For example: SE, NO, DE")
    priority = StringField("Priority (lower wins)", default="100")
    description = StringField("Description", description="Shown on the timeline, e.g. Medtech lead")
    enabled = BooleanField("Enabled", default=True)

    def __init__(self, staff, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [SelectChoice("", "Choose a person")] + [
            SelectChoice(str(u.id), f"{u.name} ({u.title or u.role})") for u in staff]


class PreviewForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that stores nothing

    sector = SelectField("Sector", choices=_choices(SECTORS), validate_choice=True)
    topic = SelectField("Topic", choices=_choices(TOPICS), validate_choice=True)
    country = StringField("Country (ISO code)", default="DK")
    language = SelectField("Language", choices=_choices(LANGUAGES), validate_choice=True)
    email = StringField("Investor's email (optional: continuity)")


class AwayForm(FlaskForm):
    away_until = DateField("Away until (empty: present)", validators=[Optional()])


class ReassignForm(FlaskForm):
    to_id = StringField("Move to")
