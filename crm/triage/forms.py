"""Forms of the triage pages."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from crm.core.params import form_int


class AssignForm(FlaskForm):
    assignee_id = SelectField("Assign to", coerce=form_int, validate_choice=True)

    def __init__(self, staff, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = [
            SelectChoice(user.id, f"{user.name} ({user.title or user.role})") for user in staff
        ]
