"""`ivr deliver` (the outbox worker) and `ivr routes` (where each force's reports go).

The worker also rolls up the figures of each settled day (ivr/insight/roll_up.py),
about once an hour: it is the one process that always runs and may write, so the
figures pages never have to.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.cli.common import database_problem, load_routes, open_database
from ivr.core.settings import Settings, load_settings

ROLL_UP_EVERY = timedelta(hours=1)


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds between looks for due work [default: setting delivery.interval_seconds].",
)
def deliver(once: bool, interval: int | None) -> None:
    """Send approved reports to their forces until acknowledged (the outbox worker).

    Several may run at once, on PostgreSQL or SQLite. It also ends calls whose end
    was never recorded (`ivr sweep`).
    """
    settings = load_settings()
    with open_database(settings) as sessions:
        _deliver(settings, sessions, once, interval)


def _deliver(
    settings: Settings, sessions: sessionmaker[Session], once: bool, interval: int | None
) -> None:
    from ivr.core.contact import ContactCipher
    from ivr.insight.roll_up import roll_up_settled
    from ivr.models import utcnow
    from ivr.records.delivery import Deliverer, DeliverySettings
    from ivr.records.delivery_state import failing_deliveries
    from ivr.records.update_delivery import UpdateDeliverer
    from ivr.voice.sweep import sweep

    worker = Deliverer(
        sessions,
        load_routes(settings),
        ContactCipher(settings.contact_key),
        DeliverySettings.from_settings(settings),
    )
    # Follow-up messages go by the same worker, after the reports due this round.
    updates = UpdateDeliverer(worker.sessions, worker.routes, worker.cipher, worker.settings)
    alert_after = timedelta(seconds=settings.delivery_alert_after_seconds)
    reported_late = 0
    rolled_up_at = None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            done = worker.run_once(stop=stop)
            sent = updates.run_once(stop=stop)
            done.delivered += sent.delivered
            done.failed += sent.failed
            with sessions() as session:
                late = len(failing_deliveries(session, older_than=alert_after))
                if rolled_up_at is None or utcnow() - rolled_up_at >= ROLL_UP_EVERY:
                    roll_up_settled(session)
                    # Calls whose status callback failed (ivr/voice/sweep.py).
                    sweep(session)
                    rolled_up_at = utcnow()
        except SQLAlchemyError as exc:
            # The database is away (restart, network): say so in one line, try again later.
            message = f"ivr deliver: {database_problem(exc, settings.database_url)}"
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


@click.command("routes")
def routes_command() -> None:
    """List each force's destination and how it is reached (secrets not shown)."""
    routes = load_routes(load_settings())
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
