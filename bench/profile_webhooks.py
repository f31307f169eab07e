"""Where a webhook's time goes: cProfile over signed requests, served in this process.

    .venv/bin/python bench/profile_webhooks.py                 # /voice/incoming, SQLite
    .venv/bin/python bench/profile_webhooks.py --path step --database postgres
    .venv/bin/python bench/profile_webhooks.py --path mix      # a whole call's webhooks

Requests go straight to the WSGI app (no HTTP server, no test client), so the
profile shows only the app's own work: Flask, the signature, the database, the flow.
`mix` is every webhook of a call in turn (incoming, a key at each menu to the queue,
the wait URL, the queue's end, the status callback), as bench/callers.py sends them;
its figure is a webhook's average. Under the profiler (not in the timed runs) the
view's work runs inline rather than on the deadline's thread (ivr/voice/outage.py),
which cProfile would not see.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import io
import pstats
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.core.migrate import upgrade
from ivr.sim.twilio import twilio_params
from ivr.sim.walks import keys_to_queue
from ivr.voice import outage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhooks import FROM_NUMBER, TO_NUMBER, postgres_database, sqlite_database  # noqa: E402

AUTH_TOKEN = "profile-" + secrets.token_hex(16)
HOST = "127.0.0.1:8000"


def environ(path: str, params: dict[str, str]) -> dict[str, object]:
    """A WSGI environ as gunicorn builds it for a signed Twilio form post."""
    body = urlencode(params).encode()
    path, _, query = path.partition("?")
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_TWILIO_SIGNATURE": RequestValidator(AUTH_TOKEN).compute_signature(url, params),
        "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN": secrets.token_hex(16),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(app, env: dict[str, object]) -> str:  # type: ignore[no-untyped-def]
    result: list[str] = []
    body = b"".join(app(env, lambda status, headers, exc_info=None: result.append(status)))
    ended = env["PATH_INFO"] in ("/voice/queue-left", "/voice/status")
    if not result[0].startswith("200") or (b"<Hangup" in body and not ended):
        sys.exit(f"profile: {env['PATH_INFO']} answered {result[0]}: {body[:300]!r}")
    return body.decode()


_ACTION = re.compile(r'<Gather [^>]*action="([^"]+)"')


def call_path(app) -> list[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """The webhooks of one whole call, found by walking one: (path, parameters added)."""
    sid = "CA" + secrets.token_hex(16)
    base = twilio_params(sid, FROM_NUMBER, TO_NUMBER)
    keys = keys_to_queue()  # the flow's own path to the queue
    walk: list[tuple[str, dict[str, str]]] = [("/voice/incoming", {})]
    twiml = call(app, environ("/voice/incoming", base))
    for n in range(20):
        if "<Enqueue" in twiml:
            break
        found = _ACTION.search(twiml)
        assert found is not None, twiml
        extra = {"Digits": keys[n] if n < len(keys) else "1", "FinishedOnKey": ""}
        walk.append((html.unescape(found.group(1)), extra))
        twiml = call(app, environ(walk[-1][0], {**base, **extra}))
    queued = {"QueueSid": "QU" + "0" * 32, "QueueTime": "0"}
    walk.append(("/voice/wait", queued))
    walk.append(("/voice/queue-left", {**queued, "QueueResult": "hangup", "QueueTime": "30"}))
    walk.append(("/voice/status", {"CallStatus": "completed", "CallDuration": "60"}))
    for path, extra in walk[len(walk) - 3 :]:
        call(app, environ(path, {**base, **extra}))
    return walk


def requests_for(
    path: str, n: int, walk: list[tuple[str, dict[str, str]]] | None = None
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """n requests to profile, and those that must come first: for `step`, each is a
    new call's first keypress, so the calls are made beforehand; for `mix`, n calls'
    every webhook, in the order a call makes them."""
    if path == "mix":
        assert walk is not None
        mix = []
        for _ in range(max(1, n // len(walk))):
            base = twilio_params("CA" + secrets.token_hex(16), FROM_NUMBER, TO_NUMBER)
            mix += [environ(p, {**base, **extra}) for p, extra in walk]
        return [], mix
    sids = ["CA" + secrets.token_hex(16) for _ in range(n)]
    incoming = [environ("/voice/incoming", twilio_params(s, FROM_NUMBER, TO_NUMBER)) for s in sids]
    if path == "incoming":
        return [], incoming
    keypress = {"Digits": "1", "FinishedOnKey": ""}
    first = (walk or [("", {}), ("/voice/step/language?seq=1", {})])[1][0]
    steps = [environ(first, {**twilio_params(s, FROM_NUMBER, TO_NUMBER), **keypress}) for s in sids]
    return incoming, steps


def time_requests(  # type: ignore[no-untyped-def]
    app, path: str, n: int, walk, profiler: cProfile.Profile | None = None
) -> float:
    """CPU seconds of this process a request, over n requests (the calls they need are
    made first, untimed). CPU time, not wall time: other work on the machine and the
    database server's own time do not count."""
    before, requests = requests_for(path, n, walk)
    for env in before:
        call(app, env)
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    for env in requests:
        call(app, env)
    if profiler is not None:
        profiler.disable()
    return (time.process_time() - started) / len(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", choices=["incoming", "step", "mix"], default="incoming")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the least is shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="helpline-profile-") as name:
        tmp = Path(name)
        database = (
            sqlite_database(tmp)
            if args.database == "sqlite"
            else postgres_database(args.postgres_url)
        )
        with database as url:
            upgrade(url)
            app = create_app(
                {
                    "database_url": url,
                    "twilio_auth_token": AUTH_TOKEN,
                    "secret_key": secrets.token_urlsafe(48),
                    "contact_key": Fernet.generate_key().decode(),
                    "check_staffing": False,
                    "environment": "production",
                    "check_signatures": True,
                    "public_base_url": "",
                }
            )
            walk = call_path(app)
            for env in requests_for("mix", 100, walk)[1]:  # warm-up
                call(app, env)
            # The least of several runs: this machine's other work only ever adds time.
            timed = min(
                time_requests(app, args.path, args.requests, walk) for _ in range(args.repeat)
            )
            profiler = cProfile.Profile()
            # Inline, so that cProfile (which follows one thread) sees the view's work.
            outage.within_deadline = lambda work, seconds=None: work()  # type: ignore[assignment]
            profiled = time_requests(app, args.path, args.requests, walk, profiler)
            app.extensions["ivr.db.engine"].dispose()
    print(
        f"/voice/{args.path} on {args.database}: {timed * 1000:.2f} ms CPU a request, "
        f"{profiled * 1000:.2f} ms under the profiler (least of {args.repeat} x {args.requests})"
    )
    stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
    stats.print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    # Where the views' own time goes, one level down.
    stats.sort_stats("cumulative").print_callees(
        r"wsgi_app|full_dispatch_request|_incoming|_step\b|_wait|_status|_queue_left"
    )


if __name__ == "__main__":
    main()
