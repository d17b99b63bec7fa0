"""Forms of the triage pages. Each form only parses; the services decide what makes sense."""

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from crm.core.params import parse_int
from crm.enquiries.models import PRIORITIES, STATUSES
from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS, countries, label
from crm.triage.labels import PRIORITY_LABELS, PROJECT_TYPES, STATUS_LABELS

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_whole_number(text):
    """'' → None; '12' → 12; anything else (negative, decimal, huge, non-ASCII) → ValueError."""
    text = (text or "").strip().replace(" ", "")  # "1 000 000" is how people write it
    if not text:
        return None
    number = parse_int(text, minimum=0, maximum=10**15)
    if number is None:
        raise ValueError(text)
    return number


def parse_iso_date(text):
    """'' → None; '2026-12-01' → date; anything else → ValueError."""
    text = (text or "").strip()
    if not text:
        return None
    if not ISO_DATE.fullmatch(text):
        raise ValueError(text)
    day = date.fromisoformat(text)
    if not 2000 <= day.year <= 2100:
        raise ValueError(text)
    return day


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES],
                         validate_choice=False)
    reason = StringField("Reason (required for lost)", id="status-reason")


class NoteForm(FlaskForm):
    body = TextAreaField("Note", id="note-body")  # ids unique on the page; names per CONTRACT


class FollowUpForm(FlaskForm):
    due = StringField("Next follow-up (YYYY-MM-DD)", id="follow-up-due", render_kw={"type": "date"})
    done = BooleanField("Follow-up done")

    def validate_due(self, field):
        try:
            field.parsed = parse_iso_date(field.data)
        except ValueError:
            raise ValidationError("Give a date such as 2026-12-01, or leave it empty to clear it.") from None


class PriorityForm(FlaskForm):
    priority = SelectField("Priority", choices=[SelectChoice(p, PRIORITY_LABELS[p]) for p in PRIORITIES],
                           validate_choice=False)


class ProjectForm(FlaskForm):
    project_type = SelectField(
        "Investment type", validate_choice=False,
        choices=[SelectChoice("", "Not known yet")] + [SelectChoice(k, v) for k, v in PROJECT_TYPES.items()])
    planned_jobs = StringField("Planned jobs", render_kw={"inputmode": "numeric"})
    planned_capex_eur = StringField("Planned capex (EUR)", render_kw={"inputmode": "numeric"})
    realised_jobs = StringField("Realised jobs", render_kw={"inputmode": "numeric"})
    realised_capex_eur = StringField("Realised capex (EUR)", render_kw={"inputmode": "numeric"})

    NUMBER_FIELDS = ("planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        self.facts = {"project_type": self.project_type.data or None}
        for name in self.NUMBER_FIELDS:
            field = getattr(self, name)
            try:
                self.facts[name] = parse_whole_number(field.data)
            except ValueError:
                field.errors = [*field.errors, "Give a whole number of 0 or more, without signs or decimals."]
                valid = False
        return valid


class ReplyForm(FlaskForm):
    subject = StringField("Subject", id="reply-subject")
    body = TextAreaField("Message", id="reply-body")


class ManualEnquiryForm(FlaskForm):
    """An enquiry taken by phone or at a fair; validate_enquiry checks the enquiry's fields."""

    name = StringField("Name")
    email = StringField("Email", render_kw={"type": "email"})
    company = StringField("Company (optional)")
    phone = StringField("Phone (optional)", render_kw={"type": "tel"})
    country = SelectField("Country", validate_choice=False)
    sector = SelectField("Sector", validate_choice=False)
    topic = SelectField("Topic", validate_choice=False)
    message = TextAreaField("What they asked about")
    language = SelectField("Language", validate_choice=False)
    lawful_basis = SelectField("Lawful basis", validate_choice=False)
    evidence = StringField("How consent was obtained")
    assignee_id = SelectField("Assign to", validate_choice=False)
    acknowledge = BooleanField("Email them the acknowledgement with the reference")

    ENQUIRY_FIELDS = ("name", "email", "company", "phone", "country", "sector", "topic", "message", "language")

    def __init__(self, staff, lawful_bases, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice("", "Choose a country")] + [
            SelectChoice(c["code"], c["label"]) for c in countries()]
        self.sector.choices = [SelectChoice("", "Choose a sector")] + [
            SelectChoice(code, label(SECTORS, code)) for code in SECTORS]
        self.topic.choices = [SelectChoice("", "Choose a topic")] + [
            SelectChoice(code, label(TOPICS, code)) for code in TOPICS]
        self.language.choices = [SelectChoice(code, label(LANGUAGES, code)) for code in LANGUAGES]
        self.lawful_basis.choices = [SelectChoice(k, v) for k, v in lawful_bases.items()]
        self.assignee_id.choices = [SelectChoice("", "Unassigned")] + [
            SelectChoice(str(user.id), f"{user.name} ({user.title or user.role})") for user in staff]

    def as_submission(self):
        return {name: self[name].data for name in self.ENQUIRY_FIELDS}

    def chosen_assignee(self):
        """The chosen id, None for unassigned; ValueError for anything that is not an id."""
        value = self.assignee_id.data or ""
        if not value:
            return None
        number = parse_int(value)
        if number is None:
            raise ValueError(value)
        return number


class ActionForms:
    """Every form of the enquiry page, prefilled from the enquiry; `failed` is the one re-shown."""

    def __init__(self, enquiry, failed=None):
        def fresh(cls, **data):
            return failed if isinstance(failed, cls) else cls(formdata=None, **data)

        self.status = fresh(StatusForm, status=enquiry.status)
        self.note = fresh(NoteForm)
        self.follow_up = fresh(FollowUpForm, due=_iso(enquiry.next_follow_up_on))
        self.priority = fresh(PriorityForm, priority=enquiry.priority)
        self.project = fresh(ProjectForm, project_type=enquiry.project_type or "",
                             **{n: _num(getattr(enquiry, n)) for n in ProjectForm.NUMBER_FIELDS})
        self.reply = fresh(ReplyForm, subject=f"Your enquiry {enquiry.reference}")


def _iso(day):
    return day.isoformat() if day else ""


def _num(value):
    return "" if value is None else str(value)


