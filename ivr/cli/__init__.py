"""The `ivr` command line: one module per group of commands, assembled here.

Bad input or settings: one clear line and a non-zero exit, never a traceback.
Every command that needs the database opens it with `common.open_database`; the
paths of the settings, flows and instance come from `ivr.core.settings` only.
"""

from __future__ import annotations

import sys

import click

from ivr.cli.call import call
from ivr.cli.delivery import deliver, routes_command
from ivr.cli.demo import demo
from ivr.cli.demo_force import demo_force
from ivr.cli.erase_calls import erase_calls
from ivr.cli.flows import flows
from ivr.cli.instance import db, init_instance, keys
from ivr.cli.purge import purge_command
from ivr.cli.serve import serve
from ivr.cli.sweep import sweep_command
from ivr.cli.users import user
from ivr.core.settings import SettingsError
from ivr.voice.flows.catalogue import FlowError


@click.group()
def cli() -> None:
    """The helpline: serve the webhooks and console, manage the database."""


for command in (
    db,
    keys,
    init_instance,
    serve,
    deliver,
    erase_calls,
    purge_command,
    sweep_command,
    routes_command,
    call,
    flows,
    user,
    demo,
    demo_force,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(prog_name="ivr")
    except (SettingsError, FlowError) as exc:
        click.echo(f"ivr: {exc}", err=True)
        sys.exit(1)
