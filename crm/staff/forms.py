"""Forms of the login, password, account and user-administration pages.

The services validate what matters (password rules, roles, vocabularies); these forms render,
carry the CSRF token and catch what is plainly missing.
"""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, label
from crm.staff.models import ROLES
from crm.staff.passwords import MAX_LENGTH, MIN_LENGTH

PASSWORD_HINT = f"At least {MIN_LENGTH} characters, at most {MAX_LENGTH}. A few random words work well."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()


class TwoFactorForm(FlaskForm):
    code = StringField("Code from your authenticator app, or a recovery code",
                       validators=[DataRequired("Enter the code.")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email.")])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a password.")])
    confirm = PasswordField("New password again",
                            validators=[EqualTo("password", "The two passwords differ.")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired("Enter your current password.")])


class EnrolTwoFactorForm(FlaskForm):
    code = StringField("Code shown by your app", validators=[DataRequired("Enter the code.")])


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _role_choices():
    return [SelectChoice(role, role.title()) for role in ROLES]


class UserForm(FlaskForm):
    """What an admin edits of an account."""

    title = StringField("Title", description="For example: Senior Investment Manager")
    role = SelectField("Role", choices=_role_choices())
    sectors = CheckboxesField("Sectors covered (none: all)",
                              choices=[SelectChoice(c, label(SECTORS, c)) for c in SECTORS])
    topics = CheckboxesField("Topics covered (none: all)", choices=[SelectChoice(c, label(TOPICS, c)) for c in TOPICS])
    languages = CheckboxesField("Languages spoken (preferred for enquiries in them)",
                                choices=[SelectChoice(c, label(LANGUAGES, c)) for c in LANGUAGES])
    away_until = DateField("Away until", validators=[Optional()])


class InviteForm(UserForm):
    email = EmailField("Email", validators=[DataRequired("Enter an email.")])
    name = StringField("Name", validators=[DataRequired("Enter a name.")])


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is what it carries."""
