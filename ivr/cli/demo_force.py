"""`ivr demo-force`: a local stand-in for the forces' Professional Standards Departments.

A small HTTP server on 127.0.0.1 that receives what the delivery worker sends
(POST /<force id>), checks the signature with the force's secret from the
settings, as a force would, prints each report, and acknowledges it (200).
A wrong signature is refused (401), so the worker keeps trying; a repeated
Idempotency-Key is acknowledged again and not printed twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import click

from ivr.cli.common import load_routes
from ivr.cli.demo import local_routes
from ivr.core.routing import Routes
from ivr.core.settings import load_settings
from ivr.models import Channel
from ivr.records.sending import verify

MAX_BODY = 1_000_000


def make_server(
    routes: Routes, port: int, say: Callable[[str], None], host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    seen: set[str] = set()
    lock = threading.Lock()

    class Force(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            force_id = self.path.strip("/").split("/")[-1]
            route = routes.routes.get(force_id)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY))
            if route is None or route.channel != Channel.HTTPS:
                say(f"REFUSED a delivery to /{force_id}: no such force routed here")
                return self._answer(404, "unknown force")
            key = self.headers.get("Idempotency-Key", "")
            stamp = self.headers.get("X-Helpline-Timestamp")
            if not verify(route.secret, body, key, stamp, self.headers.get("X-Helpline-Signature")):
                say(
                    f"REFUSED a delivery for {route.force_name}: the signature is wrong "
                    "or its timestamp is more than five minutes from this machine's clock"
                )
                return self._answer(401, "bad signature")
            with lock:
                again = key in seen
                seen.add(key)
            try:
                report = json.loads(body)
            except ValueError:
                return self._answer(400, "not JSON")
            reference = report.get("reference", "?") if isinstance(report, dict) else "?"
            if again:
                say(f"received {reference} again for {route.force_name} (same key): already kept")
            else:
                say(
                    f"=== report {reference} for {route.description}: signature good, "
                    f"Idempotency-Key {key}"
                )
                say(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True))
            self._answer(200, "received")

        def _answer(self, status: int, text: str) -> None:
            data = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # each delivery is said above, once

    return ThreadingHTTPServer((host, port), Force)


@click.command("demo-force")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Default: the port the settings route forces to.")  # fmt: skip
def demo_force(port: int | None) -> None:
    """A local test force: receives approved reports, checks their signatures, prints them."""
    routes = load_routes(load_settings())
    local = local_routes(routes)
    if not local:
        raise click.ClickException(
            "no force's reports are routed to 127.0.0.1: `ivr demo` prints the settings to add"
        )
    if port is None:
        port = urlsplit(local[0].target).port or 80
    try:
        server = make_server(routes, port, lambda line: click.echo(line))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    click.echo(
        f"Local test force on http://127.0.0.1:{server.server_port}/ for {len(local)} forces; "
        "Ctrl-C stops it."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
