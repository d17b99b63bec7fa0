"""`flask crm remind` (CONTRACT §8), added to the `crm` command group."""

import click

from crm.cli import crm_group


@crm_group.command("remind")
def remind_command():
    """Queue today's overdue follow-up digests and the admins' unanswered digest (once a day each)."""
    from crm.triage.reminders import send_reminders

    result = send_reminders()
    click.echo(f"Queued {len(result.overdue_sent)} follow-up digests and {len(result.unanswered_sent)} "
               f"unanswered digests; {result.skipped} had gone out today already.")
