"""The `ivr` command line: one module per group of commands, assembled here.

Bad input or settings: one clear line and a non-zero exit, never a traceback.
Every command that needs the database opens it with `common.open_database`; the
paths of the settings, flows and instance come from `ivr.core.settings` only.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from ivr.cli.call import call
from ivr.cli.common import db_error
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
    """Run a command; what it could not do ends it with one line and exit status 1.

    Commands raise click's own exceptions for what they check themselves; the errors
    below are those any command may meet (a setting, a flow, a file, the database) and
    are put into words here, once, rather than in every command.
    """
    try:
        cli.main(prog_name="ivr")
    except (SettingsError, FlowError) as exc:
        fail(str(exc))
    except OSError as exc:
        # A file or folder a setting names (or its default) cannot be read or written.
        fail(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except SQLAlchemyError as exc:
        # Commands open the database through common.open_database, which says more; this
        # is for any other way in.
        fail(db_error(exc))


def fail(message: str) -> NoReturn:
    click.echo(f"ivr: {message}", err=True)
    sys.exit(1)
