"""`ivr user add`, `disable` and `reset-two-factor`: staff accounts for the console."""

from __future__ import annotations

import sys

import click

from ivr.cli.common import open_database
from ivr.core.settings import load_settings
from ivr.models import StaffRole


@click.group()
def user() -> None:
    """Staff accounts for the console."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in StaffRole]),
    help="What the user may do.",
)
@click.option("--phone", default="", help="The phone a handler takes calls on (UK or +44...).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Make up a password and print it once.")
def user_add(name: str, role: str, phone: str, password_stdin: bool, generate: bool) -> None:
    """Add a user. Without --password-stdin or --generate, asks for the password."""
    from ivr.staff.accounts import AccountError, create_user, generate_password

    if password_stdin and generate:
        raise click.UsageError("choose --password-stdin or --generate, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif generate:
        password = generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_database(load_settings()) as sessions, sessions() as session:
        try:
            created = create_user(session, name, role, password, phone)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(f"added {created.username} ({created.role})")
    if generate:
        click.echo(f"password: {password}")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable a user: they cannot sign in, and their open sessions end."""
    from ivr.staff.accounts import find_user, set_active

    with open_database(load_settings()) as sessions, sessions() as session:
        found = find_user(session, name)
        if found is None:
            raise click.ClickException(f"no user called {name!r}")
        set_active(session, found, False)
        session.commit()
        click.echo(f"disabled {found.username}")


@user.command("reset-two-factor")
@click.argument("name")
@click.option("--reason", required=True, help="Why, for the audit log.")
def user_reset_two_factor(name: str, reason: str) -> None:
    """Reset a user's two-step sign-in (lost phone and recovery codes): they set it up
    again at their next sign-in. For the last admin; admins reset others in the console."""
    from ivr.staff.accounts import find_user
    from ivr.staff.two_factor import reset

    with open_database(load_settings()) as sessions, sessions() as session:
        found = find_user(session, name)
        if found is None:
            raise click.ClickException(f"no user called {name!r}")
        reset(session, found, None, reason=f"ivr user reset-two-factor: {reason}")
        session.commit()
        click.echo(f"reset {found.username}'s two-step sign-in: they set it up at next sign-in")
