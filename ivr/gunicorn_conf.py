"""gunicorn settings for the helpline (`ivr serve` passes them with --config)."""

from __future__ import annotations

from typing import Any

# Twilio waits 15 s in all for an answer, and every webhook answers within 10 s
# (ivr/voice/deadline.py); a worker stuck past that is killed and replaced before
# Twilio gives up, and the call's state is in the database, so no call is lost.
timeout = 12
# Plain sync workers: one request at a time each, the cheapest per request. They are
# safe only behind a buffering proxy (deploy/nginx/helpline.conf): nginx reads a slow
# client's whole request before handing it over, so no worker waits on a client.
worker_class = "sync"
# The proxy on this machine tells us the request came over HTTPS (X-Forwarded-Proto);
# nobody else may. Nothing else is taken from it: not the client's address.
forwarded_allow_ips = "127.0.0.1,::1"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
graceful_timeout = 20
keepalive = 5
# No access log: gunicorn's lines go to the journal, which stamps each with its exact
# time, and a call's webhooks at exact times match the phone company's record of the
# call. nginx's access log (deploy/nginx/helpline.conf) is the site's, to the hour.
accesslog = None
# For a bench that asks for one (`--access-logfile -`): the path without the query
# string, never a request body (where Twilio puts From), and the time spent.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    from ivr.core import redaction

    redaction.install("gunicorn.error", "gunicorn.access")


def on_starting(server: Any) -> None:
    """Build the app once in the master, before any worker: what stops it (a setting, a
    SQLite folder that cannot be made, a route, a flow) is one line, and gunicorn exits 1
    instead of starting workers that each fail the same way."""
    import sys

    from ivr.core.settings import SettingsError
    from ivr.voice.flows.catalogue import FlowError

    try:
        from ivr import create_app
        from ivr.core.db import get_engine

        get_engine(create_app()).dispose()
    except (SettingsError, FlowError) as exc:
        print(f"ivr: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
