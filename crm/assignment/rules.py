"""Use cases of assignment rules: create, edit, enable/disable, reorder, and the preview."""

import pycountry
import sqlalchemy as sa

from crm.assignment.engine import Lead, choose_assignee
from crm.assignment.models import AssignmentRule
from crm.core.audit import record_audit
from crm.enquiries.options import LANGUAGES, SECTORS, TOPICS
from crm.enquiries.validation import EmailNotValidError, normalise_email
from crm.extensions import db
from crm.staff.models import User

MAX_PRIORITY = 1_000_000
COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)


class RuleInvalid(Exception):
    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


def _codes(values, vocabulary, field, errors):
    values = list(dict.fromkeys(v.strip() for v in values or () if isinstance(v, str) and v.strip()))
    unknown = [v for v in values if v not in vocabulary]
    if unknown:
        errors[field] = [f"Unknown: {', '.join(unknown)[:200]}."]
    return values


def split_codes(text):
    """'se, NO' → ['SE', 'NO'] (country codes as typed in a form or on the command line)."""
    if not isinstance(text, str):
        return []
    return [v.strip().upper() for v in text.split(",") if v.strip()]


def _clean(rule_id, *, user_id, sectors, topics, countries, priority, description):
    errors = {}
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        errors["user_id"] = ["Choose a staff member."]
    elif not user.active or user.password_hash is None:
        errors["user_id"] = [f"{user.name} cannot take enquiries (deactivated or not yet signed in)."]
    clean = {
        "user_id": user_id,
        "sectors": _codes(sectors, SECTORS, "sectors", errors),
        "topics": _codes(topics, TOPICS, "topics", errors),
        "countries": _codes(countries, COUNTRY_CODES, "countries", errors),
        "description": (description or "").strip(),
    }
    if len(clean["description"]) > 200:
        errors["description"] = ["Use at most 200 characters."]
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= MAX_PRIORITY:
        errors["priority"] = [f"Give a whole number from 0 to {MAX_PRIORITY:,}."]
    clean["priority"] = priority
    if not errors:
        same = _same_conditions(rule_id, clean)
        if same is not None:
            errors["sectors"] = [f"Rule #{same.id} has exactly these conditions already: edit that one "
                                 "(or disable it) instead, so that it is clear which applies."]
    if errors:
        raise RuleInvalid(errors)
    return clean


def _same_conditions(rule_id, clean):
    """An enabled rule with the same conditions: one of the two could never apply."""
    probe = AssignmentRule(sectors=clean["sectors"], topics=clean["topics"], countries=clean["countries"])
    for other in db.session.scalars(sa.select(AssignmentRule).where(AssignmentRule.active.is_(True))):
        if other.id != rule_id and other.conditions() == probe.conditions():
            return other
    return None


def save_rule(rule, *, user_id, sectors=(), topics=(), countries=(), priority=100, description="",
              enabled=True, actor=None, ip_address=None):
    """Create (rule None) or change a rule; raises RuleInvalid with every problem, changing nothing.

    Two enabled rules with identical conditions are refused: the later one could never apply.
    """
    clean = _clean(rule.id if rule else None, user_id=user_id, sectors=sectors, topics=topics,
                   countries=countries, priority=priority, description=description)
    created = rule is None
    if created:
        rule = AssignmentRule()
        db.session.add(rule)
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.active = bool(enabled)
    db.session.flush()
    record_audit("rule.created" if created else "rule.updated", actor=actor, target_type="rule",
                 target_id=rule.id, ip_address=ip_address)
    db.session.commit()
    return rule


def set_rule_enabled(rule, enabled, *, actor=None, ip_address=None):
    """Enable or disable a rule; enabling one that duplicates an enabled rule raises RuleInvalid."""
    if enabled and not rule.active:
        same = _same_conditions(rule.id, {"sectors": rule.sectors, "topics": rule.topics,
                                          "countries": rule.countries})
        if same is not None:
            raise RuleInvalid({"enabled": [f"Rule #{same.id} has the same conditions and is enabled."]})
    rule.active = bool(enabled)
    record_audit("rule.enabled" if enabled else "rule.disabled", actor=actor, target_type="rule",
                 target_id=rule.id, ip_address=ip_address)
    db.session.commit()


def move_rule(rule, direction, *, actor=None, ip_address=None):
    """Move a rule one place up (applies sooner) or down; priorities are renumbered 10, 20, …"""
    if direction not in ("up", "down"):
        raise RuleInvalid({"direction": ["Move up or down."]})
    rules = list(db.session.scalars(
        sa.select(AssignmentRule).order_by(AssignmentRule.priority, AssignmentRule.id).with_for_update()))
    at = rules.index(rule)
    other = at - 1 if direction == "up" else at + 1
    if 0 <= other < len(rules):
        rules[at], rules[other] = rules[other], rules[at]
    for place, each in enumerate(rules, start=1):
        each.priority = place * 10
    record_audit("rule.reordered", actor=actor, target_type="rule", target_id=rule.id, ip_address=ip_address)
    db.session.commit()


def preview_assignment(*, sector, topic, country, language="en", email=None):
    """The engine's answer for an enquiry like this, storing nothing (the read is rolled back)."""
    errors = {}
    if sector not in SECTORS:
        errors["sector"] = ["Choose a sector."]
    if topic not in TOPICS:
        errors["topic"] = ["Choose a topic."]
    if not isinstance(country, str) or country.strip().upper() not in COUNTRY_CODES:
        errors["country"] = ["Give an ISO country code, e.g. DK."]
    if language not in LANGUAGES:
        errors["language"] = ["Choose a language."]
    if errors:
        raise RuleInvalid(errors)
    try:
        email = normalise_email(email.strip()) if email and email.strip() else None
    except EmailNotValidError:
        raise RuleInvalid({"email": ["Give a valid email, or none."]}) from None
    try:
        return choose_assignee(Lead(sector=sector, topic=topic, country=country.strip().upper(),
                                    language=language, email=email))
    finally:
        db.session.rollback()
