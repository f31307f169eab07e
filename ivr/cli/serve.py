"""`ivr serve`: the app under gunicorn, as production runs it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from ivr.core.settings import load_settings
from ivr.voice import urls


@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn, and say what to point a Twilio number at."""
    settings = load_settings()
    # Build the app once here: whatever stops it (a setting, a SQLite folder that cannot
    # be made, a route, a flow) is said in one line now rather than in every worker.
    from ivr import create_app
    from ivr.core.db import get_engine

    get_engine(create_app()).dispose()
    base = settings.public_base_url or f"http://{bind}"
    click.echo("Point your Twilio number at:")
    click.echo(f"  A call comes in (Voice URL, POST): {base}{urls.INCOMING}")
    click.echo(f"  Primary handler fails (POST):      {base}{urls.FALLBACK}")
    click.echo(f"  Call status changes (POST):        {base}{urls.STATUS}")
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
