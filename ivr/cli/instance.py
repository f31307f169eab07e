"""`ivr db upgrade`, `ivr keys`, `ivr init-instance`: a database and an instance to run."""

from __future__ import annotations

import secrets

import click
from cryptography.fernet import Fernet

from ivr.cli.common import database_errors, safe_url
from ivr.cli.demo import DEMO_FORCE_PORT
from ivr.core.private_files import private_folder, write_private_file
from ivr.core.settings import ConfigPaths, load_settings


@click.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database to the latest schema (Alembic)."""
    from ivr.core.migrate import MigrationLimits, upgrade

    settings = load_settings()
    with database_errors(settings.database_url):
        upgrade(settings.database_url, limits=MigrationLimits.from_settings(settings))
    click.echo(f"database is up to date ({safe_url(settings.database_url)})")


@click.command("keys")
def keys() -> None:
    """Print a new contact-encryption key (IVR_CONTACT_KEY) and secret key (IVR_SECRET_KEY)."""
    click.echo(f"IVR_CONTACT_KEY={Fernet.generate_key().decode()}")
    click.echo(f"IVR_SECRET_KEY={secrets.token_urlsafe(48)}")


@click.command("init-instance")
@click.option(
    "--demo-force-port",
    type=click.IntRange(1, 65535),
    default=DEMO_FORCE_PORT,
    show_default=True,
    help="Where the local test force listens (`make run` uses PORT+99).",
)
def init_instance(demo_force_port: int) -> None:
    """Write instance/local.toml with fresh secrets for a local run (never overwrites)."""
    paths = ConfigPaths.from_environ()
    instance = paths.instance_dir
    target = instance / "local.toml"
    if target.exists():
        click.echo(f"{target} exists; keeping it")
        return
    from ivr.cli.demo import routing_toml
    from ivr.core.forces import ForceCatalogue

    text = (
        "# Local development settings, made by `ivr init-instance`. Never commit this file.\n"
        "[web]\n"
        'environment = "development"\n'
        f'secret_key = "{secrets.token_urlsafe(48)}"\n\n'
        "[twilio]\n"
        f'auth_token = "{secrets.token_hex(16)}"\n'
        "# The number a handler's phone shows: the line's own (see call_flows/).\n"
        'caller_id = "+448000850000"\n'
        "# No Twilio account here: no call to delete at Twilio when it ends.\n"
        "erase_calls = false\n\n"
        "[calls]\n"
        "# Nobody signs in to answer here: callers go to the queue whatever the time.\n"
        "check_staffing = false\n\n"
        "[security]\n"
        f'contact_key = "{Fernet.generate_key().decode()}"\n\n'
        "[console]\n"
        "# No Twilio account here: taking a caller records the request instead of making it.\n"
        'call_gateway = "fake"\n'
        "# Development only: staff sign in with a password alone. Delete this line to try\n"
        "# two-step sign-in (an authenticator app), as production always has it.\n"
        "two_factor = false\n\n"
        "# Every force's reports go to the local test force (`ivr demo-force`), never a real one.\n"
        + routing_toml(ForceCatalogue.load(paths.forces_file), demo_force_port)
    )
    try:
        private_folder(instance)
        # 0600 from the moment it exists: the secrets are never readable by others, even briefly.
        write_private_file(target, text)
    except OSError as exc:
        raise click.ClickException(
            f"cannot write {target} (the instance folder, IVR_INSTANCE_DIR): {exc.strerror}"
        ) from None
    click.echo(f"wrote {target}")
