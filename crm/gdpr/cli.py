"""`flask crm gdpr export|erase|purge` (CONTRACT §8): each calls one service."""

import json

import click
from flask.cli import AppGroup

gdpr_group = AppGroup("gdpr", help="Data-subject requests and retention.")


@gdpr_group.command("export")
@click.option("--email", required=True)
def gdpr_export_command(email):
    """Print everything held about the person with EMAIL as JSON."""
    from crm.gdpr.services import export_subject

    click.echo(json.dumps(export_subject(email), indent=2, ensure_ascii=False))


@gdpr_group.command("erase")
@click.option("--email", required=True)
def gdpr_erase_command(email):
    """Erase everything held about the person with EMAIL, leaving a tombstone."""
    from crm.gdpr.erasure import erase_subject

    result = erase_subject(email)
    what = (f"{result.enquiries} enquiries anonymised" if result.found
            else "no contact held")
    # The address is not echoed: terminal scrollback and cron mail are logs too.
    click.echo(f"Erased ({what}, {result.emails} emails deleted); tombstone {result.tombstone_id}.")


@gdpr_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what is due and erase nothing.")
def gdpr_purge_command(dry_run):
    """Erase what retention says is due (safe to run twice; run it daily from cron)."""
    from crm.gdpr.retention import purge_expired

    run = purge_expired(dry_run=dry_run)
    counts = run.counts
    if dry_run:
        for reference in counts.get("due", []):
            click.echo(f"due: enquiry {reference}")
    verb = "Would erase" if dry_run else "Erased"
    click.echo(f"{verb} {counts['enquiries']} enquiries ({counts['people']} people entirely), "
               f"{counts['sent_emails']} sent emails, {counts['audit_entries']} audit entries"
               + (f", {counts['pending_submissions']} queued API submissions never stored"
                  if counts.get("pending_submissions") else "")
               + f" (run {run.id}).")


@gdpr_group.command("reapply-erasures")
def gdpr_reapply_command():
    """After restoring a backup: erase again everyone the tombstones say was erased."""
    from crm.gdpr.erasure import reapply_erasures

    click.echo(f"Erased again: {reapply_erasures()} people.")
