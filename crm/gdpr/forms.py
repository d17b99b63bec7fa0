"""Forms of the GDPR admin pages (they carry the CSRF token and catch what is plainly missing)."""

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from crm.gdpr.models import REQUEST_KINDS


class EraseForm(FlaskForm):
    email = EmailField("Email of the person to erase", validators=[DataRequired("Enter an email.")])


class RequestForm(FlaskForm):
    email = EmailField("Email of the person", validators=[DataRequired("Enter an email.")])
    kind = SelectField("Kind", choices=[SelectChoice(k, k.capitalize()) for k in REQUEST_KINDS])
    received_on = DateField("Received on", validators=[DataRequired("Enter the date received.")])


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token."""


class ProcessingForm(FlaskForm):
    heading = StringField("Heading", validators=[DataRequired(), Length(max=120)])
    body = TextAreaField("Text", validators=[DataRequired(), Length(max=20000)])
