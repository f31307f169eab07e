"""The five-minute demo: accounts to sign in with, and a local stand-in for the forces.

Only for a development instance: `ivr demo` refuses anywhere else. The accounts'
passwords are generated and printed once, when made (or remade with --reset).
A development instance (`ivr init-instance`) routes every force to a local test
force on 127.0.0.1 (`ivr demo-force`, ivr/cli/demo_force.py) and records, instead of
making, the Twilio request that brings a caller to a handler's phone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import click
from sqlalchemy.orm import Session

from ivr.cli.common import load_routes, open_database
from ivr.core.forces import ForceCatalogue
from ivr.core.routing import LOCAL_HOSTS, Route, Routes
from ivr.core.settings import load_settings
from ivr.models import Channel, StaffRole
from ivr.staff.accounts import create_user, find_user, generate_password, set_password

DEMO_FORCE_PORT = 8099
# Phones from Ofcom's range kept for drama (020 7946 0000-0999): nobody's real number.
DEMO_ACCOUNTS = (
    ("demo-handler", StaffRole.HANDLER, "020 7946 0001"),
    ("demo-supervisor", StaffRole.SUPERVISOR, "020 7946 0002"),
    ("demo-admin", StaffRole.ADMIN, ""),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str | None  # None: it existed already, its password unchanged


def ensure_accounts(session: Session, reset: bool = False) -> list[DemoAccount]:
    """Create the demo accounts that do not exist (or give all new passwords, with `reset`)."""
    done = []
    for username, role, phone in DEMO_ACCOUNTS:
        existing = find_user(session, username)
        password = generate_password()
        if existing is None:
            create_user(session, username, role, password, phone)
        elif reset:
            set_password(session, existing, password)
            existing.active = True
        else:
            done.append(DemoAccount(username, role, None))
            continue
        done.append(DemoAccount(username, role, password))
    session.commit()
    return done


def local_routes(routes: Routes) -> list[Route]:
    """The forces whose reports go to this machine (a test force), not to a real one."""
    return [
        route
        for route in routes.routes.values()
        if route.channel == Channel.HTTPS and urlsplit(route.target).hostname in LOCAL_HOSTS
    ]


def routing_toml(forces: ForceCatalogue, port: int = DEMO_FORCE_PORT) -> str:
    """Settings sending every force's reports to the local test force, one shared secret."""
    secret = secrets.token_urlsafe(32)
    tables = [
        f'[routing.forces.{force_id}]\nurl = "http://127.0.0.1:{port}/{force_id}"\n'
        f'secret = "{secret}"\n'
        for force_id in forces.forces
    ]
    return "\n".join(tables)


@click.command("demo")
@click.option("--reset", is_flag=True, help="Give the demo accounts new passwords.")
@click.option(
    "--if-development",
    is_flag=True,
    help="Outside development do nothing and succeed (for `make run`).",
)
def demo(reset: bool, if_development: bool) -> None:
    """Demo accounts (handler, supervisor, admin), passwords printed once. Development only."""
    settings = load_settings()
    if not settings.is_development:
        if if_development:
            return
        raise click.ClickException(
            "ivr demo makes accounts with known roles and printed passwords: it runs only "
            f"when environment (IVR_WEB_ENVIRONMENT) is development, not {settings.environment}"
        )
    with open_database(settings) as sessions, sessions() as session:
        accounts = ensure_accounts(session, reset=reset)
    made = [a for a in accounts if a.password]
    if made:
        click.echo("Demo accounts for the console (the passwords are shown only now):")
        for account in made:
            click.echo(f"  {account.username:16} {account.role:11} password: {account.password}")
    kept = [a.username for a in accounts if not a.password]
    if kept:
        click.echo(
            f"Demo accounts {', '.join(kept)} exist: their passwords were printed when they "
            "were made (`ivr demo --reset` gives new ones)."
        )
    routes = load_routes(settings)
    local = local_routes(routes)
    if local:
        port = urlsplit(local[0].target).port
        click.echo(
            f"Approved reports for {len(local)} forces go to a local test force on "
            f"127.0.0.1:{port}: run `ivr demo-force` to see them arrive."
        )
    else:
        click.echo(
            "No force's reports go to this machine. To follow a report to a local test force, "
            "add this to instance/local.toml, restart, and run `ivr demo-force`:\n"
        )
        click.echo(routing_toml(routes.forces, DEMO_FORCE_PORT))
    if settings.call_gateway != "fake":
        click.echo(
            "Taking a caller asks Twilio to ring the handler: without Twilio, set "
            'call_gateway = "fake" under [console] in instance/local.toml '
            "(or IVR_CONSOLE_CALL_GATEWAY=fake)."
        )
