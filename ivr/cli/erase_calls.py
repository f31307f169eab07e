"""`ivr erase-calls`: the worker that deletes each ended call's record at Twilio
(ivr/voice/twilio_erasure.py; docs/operations.md says why and what Twilio still keeps)."""

from __future__ import annotations

import signal
import threading

import click
from sqlalchemy.exc import SQLAlchemyError

from ivr.cli.common import database_problem, open_database
from ivr.core.settings import load_settings


@click.command("erase-calls")
@click.option("--once", is_flag=True, help="Erase what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=30,
    show_default=True,
    help="Seconds between looks for due work.",
)
def erase_calls(once: bool, interval: int) -> None:
    """Delete ended calls' records at Twilio (the erasure outbox worker).

    Several may run at once on PostgreSQL; on SQLite run one.
    """
    from ivr.core.contact import ContactCipher
    from ivr.voice.twilio_erasure import Eraser, ErasureSettings

    settings = load_settings()
    if not settings.twilio_account_sid:
        raise click.ClickException("TWILIO_ACCOUNT_SID is not set: calls cannot be deleted")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_database(settings) as sessions:
        worker = Eraser(
            sessions,
            ContactCipher(settings.contact_key),
            ErasureSettings(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                retry_base_seconds=settings.twilio_erase_retry_base_seconds,
                retry_max_seconds=settings.twilio_erase_retry_max_seconds,
            ),
        )
        while not stop.is_set():
            try:
                done = worker.run_once()
            except SQLAlchemyError as exc:
                message = f"ivr erase-calls: {database_problem(exc, settings.database_url)}"
                if once:
                    raise click.ClickException(message) from None
                click.echo(message, err=True)
                stop.wait(interval)
                continue
            if done.erased or done.failed:
                click.echo(f"erased at Twilio {done.erased}, to try again {done.failed}")
            if once:
                break
            stop.wait(interval)
