"""`ivr purge`: erase what has outlived its retention period (ivr/records/retention.py)."""

from __future__ import annotations

import click

from ivr.cli.common import open_database
from ivr.core.settings import load_settings


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; erase nothing.")
def purge_command(dry_run: bool) -> None:
    """Erase what has outlived the retention periods in the settings (run daily)."""
    from ivr.records.retention import purge

    settings = load_settings()
    with open_database(settings) as sessions, sessions() as session:
        done = purge(
            session,
            settings.retention_call_days,
            settings.retention_contact_days,
            dry_run=dry_run,
        )
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb}: {done.calls} calls' details ({done.events} events), "
        f"{done.contacts} reports' contact details"
    )
