"""The WSGI entry for gunicorn: `gunicorn ivr.wsgi:app`, configured by settings and environment."""

from __future__ import annotations

import sys

from ivr import create_app
from ivr.core.settings import SettingsError
from ivr.voice.flows.catalogue import FlowError

# gunicorn stops altogether when a worker exits with this status while booting ("Worker
# failed to boot") instead of starting another worker that would fail the same way, for
# ever. A bad setting is the same in every worker.
WORKER_BOOT_ERROR = 3

try:
    app = create_app()
except (SettingsError, FlowError) as exc:
    print(f"ivr: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR) from None
