"""The `ivr` command line. Bad input or settings: one clear line and a non-zero exit."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.flows import FlowError
from ivr.routing import Routes
from ivr.settings import PROJECT_ROOT, Settings, SettingsError, load_settings


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


@cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds between looks for due work [default: setting delivery.interval_seconds].",
)
def deliver(once: bool, interval: int | None) -> None:
    """Send approved reports to their forces until acknowledged (the outbox worker).

    Several may run at once on PostgreSQL; on SQLite run one.
    """
    from ivr.contact import ContactCipher
    from ivr.delivery import Deliverer, DeliverySettings, failing_deliveries

    settings = load_settings()
    sessions, engine = _sessions(settings.database_url)
    worker = Deliverer(
        sessions,
        _routes(settings),
        ContactCipher(settings.contact_key),
        DeliverySettings.from_settings(settings),
    )
    alert_after = timedelta(seconds=settings.delivery_alert_after_seconds)
    reported_late = 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                done = worker.run_once(stop=stop)
                with sessions() as session:
                    late = len(failing_deliveries(session, older_than=alert_after))
            except SQLAlchemyError as exc:
                # The database is away (restart, network): say so in one line, try again later.
                message = f"ivr deliver: {_db_error(exc)}"
                if once:
                    raise click.ClickException(message) from None
                click.echo(message, err=True)
                stop.wait(interval or settings.delivery_interval_seconds)
                continue
            if done.delivered or done.failed:
                click.echo(f"delivered {done.delivered}, failed {done.failed}")
            if late != reported_late:
                # Said when the number changes, not every round.
                click.echo(f"{late} deliveries failing for longer than {alert_after}", err=True)
                reported_late = late
            if once:
                break
            if not (done.delivered or done.failed):
                stop.wait(interval or settings.delivery_interval_seconds)
    finally:
        engine.dispose()


@cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; erase nothing.")
def purge_command(dry_run: bool) -> None:
    """Erase what has outlived the retention periods in the settings (run daily)."""
    from ivr.purge import purge

    settings = load_settings()
    sessions, engine = _sessions(settings.database_url)
    try:
        with sessions() as session:
            done = purge(
                session,
                settings.retention_call_days,
                settings.retention_contact_days,
                dry_run=dry_run,
            )
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb}: {done.calls} calls' details ({done.events} events), "
        f"{done.contacts} reports' contact details"
    )


@cli.command("routes")
def routes_command() -> None:
    """List each force's destination and how it is reached (secrets not shown)."""
    routes = _routes(load_settings())
    missing = 0
    for force in routes.forces.forces.values():
        route = routes.routes.get(force.id)
        how = f"{route.channel} {route.target}" if route else "NOT CONFIGURED"
        missing += route is None
        click.echo(f"{force.id:28} {force.destination:36} {how}")
    if routes.fallback_force:
        click.echo(f"unknown force -> {routes.fallback_force}")
    if missing:
        click.echo(f"{missing} forces have no destination configured", err=True)


def _db_error(exc: SQLAlchemyError) -> str:
    """One line naming the database's complaint (never the SQL or its parameters)."""
    return f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"


def _sessions(url: str) -> tuple[sessionmaker[Session], Engine]:
    from ivr.db import make_engine

    engine = make_engine(url)
    return sessionmaker(engine, expire_on_commit=False), engine


def _routes(settings: Settings) -> Routes:
    from ivr.forces import ForceCatalogue

    return Routes.load(settings, ForceCatalogue.load(settings.config_dir / "forces.toml"))


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
