"""The `ivr` command line. Bad input or settings: one clear line and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from ivr.flows import FlowError
from ivr.models.staff import ROLES
from ivr.settings import PROJECT_ROOT, SettingsError, load_settings


@click.group()
def cli() -> None:
    """The helpline: serve the webhooks and console, manage the database."""


@cli.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database to the latest schema (Alembic)."""
    from ivr.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    click.echo(f"database is up to date ({_safe_url(settings.database_url)})")


@cli.command("keys")
def keys() -> None:
    """Print a new contact-encryption key (IVR_CONTACT_KEY) and secret key (IVR_SECRET_KEY)."""
    click.echo(f"IVR_CONTACT_KEY={Fernet.generate_key().decode()}")
    click.echo(f"IVR_SECRET_KEY={secrets.token_urlsafe(48)}")


@cli.command("init-instance")
def init_instance() -> None:
    """Write instance/local.toml with fresh secrets for a local run (never overwrites)."""
    instance = Path(os.environ.get("IVR_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    target = instance / "local.toml"
    if target.exists():
        click.echo(f"{target} exists; keeping it")
        return
    instance.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Local development settings, made by `ivr init-instance`. Never commit this file.\n"
        "[web]\n"
        'environment = "development"\n'
        f'secret_key = "{secrets.token_urlsafe(48)}"\n\n'
        "[twilio]\n"
        f'auth_token = "{secrets.token_hex(16)}"\n\n'
        "[security]\n"
        f'contact_key = "{Fernet.generate_key().decode()}"\n'
    )
    target.chmod(0o600)
    click.echo(f"wrote {target}")


@cli.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn, and say what to point a Twilio number at."""
    settings = load_settings()  # fail here, in one line, rather than in every worker
    base = settings.public_base_url or f"http://{bind}"
    click.echo("Point your Twilio number at:")
    click.echo(f"  A call comes in (Voice URL, POST): {base}/voice/incoming")
    click.echo(f"  Primary handler fails (POST):      {base}/voice/fallback")
    click.echo(f"  Call status changes (POST):        {base}/voice/status")
    click.echo(f"Console for staff: {base}/console/")
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    # gunicorn replaces this process, so signals from make or systemd reach it directly.
    os.execv(  # noqa: S606
        gunicorn,
        [
            gunicorn,
            "--config",
            "python:ivr.gunicorn_conf",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "ivr.wsgi:app",
        ],
    )


@cli.group()
def user() -> None:
    """Staff accounts for the console."""


@contextlib.contextmanager
def _database() -> Iterator[Session]:
    from ivr.db import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--phone", default="", help="The phone a handler takes calls on (UK or +44...).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Make up a password and print it once.")
def user_add(name: str, role: str, phone: str, password_stdin: bool, generate: bool) -> None:
    """Add a user. Without --password-stdin or --generate, asks for the password."""
    from ivr.accounts import AccountError, create_user, generate_password

    if password_stdin and generate:
        raise click.UsageError("choose --password-stdin or --generate, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif generate:
        password = generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _database() as session:
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
    from ivr.accounts import find_user, set_active

    with _database() as session:
        found = find_user(session, name)
        if found is None:
            raise click.ClickException(f"no user called {name!r}")
        set_active(session, found, False)
        session.commit()
        click.echo(f"disabled {found.username}")


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    try:
        cli.main(prog_name="ivr")
    except (SettingsError, FlowError) as exc:
        click.echo(f"ivr: {exc}", err=True)
        sys.exit(1)
