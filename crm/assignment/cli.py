"""`flask crm rule add|list` and `flask crm reassign` (CONTRACT §8). Each calls a service."""

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from crm.cli import crm_group

rule_group = AppGroup("rule", help="Assignment rules (lower priority number wins).")
crm_group.add_command(rule_group)


def _csv(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _staff_by_email(email):
    from crm.enquiries.validation import EmailNotValidError, normalise_email
    from crm.extensions import db
    from crm.staff.models import User

    try:
        email = normalise_email(email.strip())
    except EmailNotValidError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == email))


def _fail(message):
    click.echo(message, err=True)
    sys.exit(1)


@rule_group.command("add")
@click.option("--to", "to_email", required=True, help="The staff member's email.")
@click.option("--sector", default="", help="Comma-separated sector codes; none: any.")
@click.option("--topic", default="", help="Comma-separated topic codes; none: any.")
@click.option("--country", default="", help="Comma-separated ISO country codes; none: any.")
@click.option("--priority", default=100, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--description", default="")
def rule_add_command(to_email, sector, topic, country, priority, description):
    """Add an assignment rule."""
    from crm.assignment.rules import RuleInvalid, save_rule, split_codes

    user = _staff_by_email(to_email)
    if user is None:
        _fail(f"--to: no staff account with the email {to_email!r}.")
    try:
        rule = save_rule(None, user_id=user.id, sectors=_csv(sector), topics=_csv(topic),
                         countries=split_codes(country), priority=priority, description=description)
    except RuleInvalid as invalid:
        _fail("\n".join(f"{field}: {' '.join(messages)}" for field, messages in invalid.fields.items()))
    click.echo(f"Added rule #{rule.id} (priority {rule.priority}) → {user.email}.")


@rule_group.command("list")
def rule_list_command():
    """Print the rules in the order they apply."""
    from crm.assignment.queries import rules_in_order

    rules = rules_in_order()
    if not rules:
        click.echo("No rules: every enquiry is assigned by continuity and load.")
    for rule in rules:
        conditions = "; ".join(f"{name} {','.join(values) or 'any'}" for name, values in
                               (("sector", rule.sectors), ("topic", rule.topics), ("country", rule.countries)))
        target = rule.user.email if rule.user else "(nobody: the person was deleted)"
        state = "enabled" if rule.active else "disabled"
        click.echo(f"#{rule.id}\tpriority {rule.priority}\t{state}\t{conditions}\t→ {target}"
                   + (f"\t{rule.description}" if rule.description else ""))


@crm_group.command("reassign")
@click.option("--from", "from_email", required=True, help="The leaving staff member's email.")
@click.option("--to", "to_email", help="Who takes them all; without it, the engine chooses for each.")
def reassign_command(from_email, to_email):
    """Move a leaving manager's open enquiries."""
    from crm.assignment.services import AssigneeInvalid, reassign_open_enquiries

    leaving = _staff_by_email(from_email)
    if leaving is None:
        _fail(f"--from: no staff account with the email {from_email!r}.")
    target = None
    if to_email:
        target = _staff_by_email(to_email)
        if target is None:
            _fail(f"--to: no staff account with the email {to_email!r}.")
    try:
        moved = reassign_open_enquiries(leaving, target)
    except AssigneeInvalid:
        _fail("--to: that person cannot take enquiries (deactivated, not yet signed in, or the same person).")
    from crm.extensions import db
    from crm.staff.models import User

    for user_id, n in sorted(moved.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        who = db.session.get(User, user_id).email if user_id else "unassigned (nobody could take them)"
        click.echo(f"{n}\t→ {who}")
    click.echo(f"Moved {sum(moved.values())} open enquiries from {leaving.email}.")
