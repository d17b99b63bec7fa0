"""`flask crm …`: the operators' commands (CONTRACT §8). Each calls a service."""

import sys

import click
from flask.cli import AppGroup

from crm.gdpr.cli import gdpr_group
from crm.staff.services import AccountInvalid, create_user

crm_group = AppGroup("crm", help="Investor-enquiry CRM commands.")
outbox_group = AppGroup("outbox", help="The email outbox.")
crm_group.add_command(gdpr_group)
crm_group.add_command(outbox_group)


def _csv(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@crm_group.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["manager", "admin"]), required=True)
@click.option("--password", help="Prompted for when left out.")
@click.option("--title", default="")
@click.option("--sectors", default="", help="Comma-separated; none means all sectors.")
@click.option("--topics", default="", help="Comma-separated; none means all topics.")
@click.option("--languages", default="", help="Comma-separated: en,da.")
@click.option("--away-until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="YYYY-MM-DD: no new enquiries until the day after.")
def create_user_command(email, name, role, password, title, sectors, topics, languages, away_until):
    """Create a staff account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email=email, name=name, role=role, password=password, title=title,
                           sectors=_csv(sectors), topics=_csv(topics), languages=_csv(languages),
                           away_until=away_until.date() if away_until else None)
    except AccountInvalid as invalid:
        for field, messages in invalid.fields.items():
            click.echo(f"{field}: {' '.join(messages)}", err=True)
        sys.exit(1)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@crm_group.command("seed-demo")
@click.option("--enquiries", "count", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--if-empty", is_flag=True, help="Do nothing when the database holds enquiries or staff.")
def seed_demo_command(count, if_empty):
    """Create demo staff and COUNT synthetic enquiries (bulk insert)."""
    from crm.enquiries.seed import database_is_empty, read_demo_logins, seed_demo

    if if_empty and not database_is_empty():
        click.echo("The database holds data already; nothing seeded.")
        logins = read_demo_logins()
    else:
        result = seed_demo(count)
        click.echo(f"Seeded {result.enquiries} enquiries in {result.seconds:.1f} s.")
        logins = result.logins or read_demo_logins()
    if logins:
        click.echo("Demo logins (http://127.0.0.1:5000/login):")
        for email, password, role in logins:
            click.echo(f"  {role:8} {email}  password: {password}")


@crm_group.command("worker")
@click.option("--once", is_flag=True, help="Deliver everything due now, then exit.")
def worker_command(once):
    """Deliver the outbox (SIGTERM finishes the current message, then exits)."""
    from crm.notifications.worker import Worker

    handled = Worker(once=once).run()
    if once:
        click.echo(f"Handled {handled} messages.")


@outbox_group.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Delete sent messages older than this (default CRM_OUTBOX_RETENTION_DAYS).")
def outbox_purge_command(days):
    """Delete sent messages past the retention period (safe to run twice)."""
    from datetime import timedelta

    from crm.notifications.services import purge_sent_messages

    deleted = purge_sent_messages(None if days is None else timedelta(days=days))
    click.echo(f"Deleted {deleted} sent messages.")
