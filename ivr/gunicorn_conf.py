"""gunicorn settings for the helpline (`ivr serve` passes them with --config)."""

from __future__ import annotations

from typing import Any

# Twilio waits 15 s in all for an answer, and every webhook answers within 10 s
# (ivr/voice/deadline.py); a worker stuck past that is killed and replaced before
# Twilio gives up, and the call's state is in the database, so no call is lost.
timeout = 12
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# The path without the query string; never a request body (where Twilio puts From).
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker: Any) -> None:
    from ivr.core import redaction

    redaction.install("gunicorn.error", "gunicorn.access")
