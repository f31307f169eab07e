"""The WSGI entry for gunicorn: `gunicorn ivr.wsgi:app`, configured by settings and environment."""

from __future__ import annotations

import sys

from ivr import create_app
from ivr.core.settings import SettingsError
from ivr.voice.flows.catalogue import FlowError

try:
    app = create_app()
except (SettingsError, FlowError) as exc:
    print(f"ivr: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
