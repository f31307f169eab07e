"""`ivr sweep`: end calls whose end was never recorded (ivr/voice/sweep.py).

`ivr deliver` also sweeps once a round, so a helpline run by `make run` needs nothing
more; run `ivr sweep` from cron where no delivery worker runs."""

from __future__ import annotations

import click

from ivr.cli.common import open_database
from ivr.core.settings import load_settings


@click.command("sweep")
def sweep_command() -> None:
    """End calls with no activity for a set time (a status callback that failed)."""
    from ivr.voice.sweep import sweep

    with open_database(load_settings()) as sessions, sessions() as session:
        ended = sweep(session)
    click.echo(f"ended {ended} idle calls")
