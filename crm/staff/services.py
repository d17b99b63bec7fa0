"""Use cases of staff accounts."""

import sqlalchemy as sa

from crm.core.audit import record_audit
from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.enquiries.validation import EmailNotValidError, normalise_email
from crm.extensions import db
from crm.staff.models import ROLES, User
from crm.staff.passwords import hash_password, password_problem


class AccountInvalid(Exception):
    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


def _codes(values, vocabulary, field, errors):
    values = [v.strip() for v in values or [] if v and v.strip()]
    unknown = [v for v in values if v not in vocabulary]
    if unknown:
        errors[field] = [f"Unknown: {', '.join(unknown)}. Choose from {', '.join(vocabulary)}."]
    return values


def create_user(*, email, name, role, password, title="", sectors=(), topics=(), languages=(),
                actor=None):
    """Create a staff account; raises AccountInvalid with every problem, storing nothing."""
    errors = {}
    try:
        email = normalise_email(email or "")
    except EmailNotValidError as error:
        errors["email"] = [str(error)]
    else:
        if db.session.scalar(sa.select(User.id).where(User.email == email)):
            errors["email"] = ["A staff account with this email exists already."]
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = ["Give a name of 1 to 200 characters."]
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if problem := password_problem(password):
        errors["password"] = [problem]
    sectors = _codes(sectors, SECTORS, "sectors", errors)
    topics = _codes(topics, TOPICS, "topics", errors)
    languages = _codes(languages, LANGUAGES, "languages", errors)
    if errors:
        raise AccountInvalid(errors)
    user = User(email=email, name=name, role=role, title=title, sectors=sectors, topics=topics,
                languages=languages, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    record_audit("user.created", actor=actor, target_type="user", target_id=user.id)
    db.session.commit()
    return user
