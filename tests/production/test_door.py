"""The door, attacked through the shipped nginx site and `ivr serve`: bodies capped (small
for /voice/), slow clients absorbed by the proxy, URLs checked as Twilio sent them, and
no request able to forge a log line."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from ivr.sim.twilio import twilio_params
from tests.conftest import AUTH_TOKEN, start_in_english

FORGED = "2026-12-01 13:00:00,000 ERROR"


def _tls_context(production) -> ssl.SSLContext:  # type: ignore[no-untyped-def]
    return ssl.create_default_context(cafile=str(production.proxy.cert))


def _raw_post(production, path: str, body: bytes, headers: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """POST with the path sent exactly as written (no client re-escaping it)."""
    where = urlsplit(production.url)
    connection = http.client.HTTPSConnection(
        where.hostname, where.port, context=_tls_context(production), timeout=15
    )
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in {
            **headers,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
        }.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path",
    ["/voice/step/role%21?seq=1", "/voice/step/it%27s?seq=1", "/voice/step/caf%c3%b4?seq=1"],
)
def test_a_url_twilio_escaped_its_own_way_passes_the_proxy_and_the_check(production, path):
    params = twilio_params("CA" + "6" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(production.url + path, params)
    body = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in params.items())
    assert _raw_post(production, path, body.encode(), {"X-Twilio-Signature": signature}) == 200
    # And signed for the URL escaped any other way, it is refused.
    other = path.replace("%21", "!").replace("%27", "'").replace("%c3%b4", "%C3%B4")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(production.url + other, params)
    assert _raw_post(production, path, body.encode(), {"X-Twilio-Signature": signature}) == 403


def test_a_request_cannot_forge_a_line_in_any_log(production):
    path = "/voice/step/x%0A2026-12-01%2013:00:00,000%20ERROR%20ivr%20forged?seq=1"
    assert _raw_post(production, path, b"CallSid=CA1", {}) == 403
    # And straight at gunicorn, as if the proxy were not there.
    where = urlsplit(production.app_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=15)
    connection.request("POST", path, body=b"CallSid=CA1", headers={"X-Twilio-Signature": "x"})
    assert connection.getresponse().status == 403
    connection.close()
    time.sleep(0.5)  # gunicorn would write an access line after the answer

    app_log = production.app_log.read_text()
    assert "refused a webhook request to /voice/step/x\\n2026-12-01" in app_log
    assert '"POST /voice/step/x' not in app_log  # gunicorn keeps no access log in production
    nginx_log = production.proxy.access_log.read_text()
    assert '"POST /voice/step/x\\x0A2026-12-01 13:00:00,000 ERROR ivr forged"' in nginx_log
    for log in (app_log, nginx_log):
        assert not any(line.startswith(FORGED) for line in log.splitlines())


def _status_line(production, request_head: bytes, body: bytes = b"") -> str:  # type: ignore[no-untyped-def]
    where = urlsplit(production.url)
    context = _tls_context(production)
    with (
        socket.create_connection((where.hostname, where.port), timeout=15) as raw,
        context.wrap_socket(raw, server_hostname=where.hostname) as tls,
    ):
        tls.sendall(request_head + body)
        return tls.recv(200).decode("latin-1").split("\r\n")[0]


def test_bodies_over_the_caps_never_reach_the_app(production):
    # 100,000 parameters, unsigned: refused by nginx at its size, the app never asked.
    body = "&".join(f"p{i}=x" for i in range(100_000)).encode()
    assert _raw_post(production, "/voice/step/role?seq=1", body, {}) == 413
    # 100 MB announced to a webhook, and 2 MB to the console: refused on the headers.
    for path, size in (("/voice/incoming", 100 * 1024 * 1024), ("/console/login", 2 * 1024 * 1024)):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {size}\r\n\r\n"
        ).encode()
        assert " 413 " in _status_line(production, head, b"a=" + b"x" * 1000)
    # Just under the webhooks' cap is passed on (and refused by the app: unsigned).
    assert _raw_post(production, "/voice/incoming", b"a=" + b"x" * 15_000, {}) == 403
    time.sleep(0.5)
    app_log = production.app_log.read_text()
    assert "/voice/step/role" not in app_log and "POST /console/login" not in app_log


class _Trickler(threading.Thread):
    """A client that sends `fast` at once, then `slow` one byte every quarter second."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext | None, fast: bytes, slow: bytes
    ) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.context = host, port, context
        self.fast, self.slow = fast, slow
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=30) as sock:
                conn = (
                    self.context.wrap_socket(sock, server_hostname=self.host)
                    if self.context
                    else sock
                )
                self.connected.set()
                conn.sendall(self.fast)
                for byte in self.slow:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.25)
        except OSError:
            pass
        finally:
            self.connected.set()


def _trickle(host: str, port: int, context: ssl.SSLContext | None) -> list[_Trickler]:
    """Four slow clients (the server has two workers), each about 8 s long: two trickle
    their headers, two send their headers and trickle the body."""
    headers = b"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Signature: abc\r\n"
    body_head = headers + (
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 32\r\n\r\n"
    )
    clients = [_Trickler(host, port, context, b"", headers[:32]) for _ in range(2)]
    clients += [
        _Trickler(host, port, context, body_head, b"CallSid=CA" + b"7" * 22) for _ in range(2)
    ]
    for client in clients:
        client.start()
        client.connected.wait(5)
    time.sleep(1.0)  # the slow clients are now in the middle of their requests
    return clients


def test_slow_clients_hold_nginx_not_the_workers(production):
    where = urlsplit(production.app_url)
    # Straight at gunicorn, the same slow clients hold both sync workers: a new call
    # waits. (This is what the proxy's buffering is for; it shows the test can fail.)
    clients = _trickle(where.hostname, where.port, None)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(production.app_url + "/voice/incoming", data={"x": "1"}, timeout=3)
    assert time.monotonic() - started >= 3
    for client in clients:
        client.join(30)

    # Through nginx: the same slow clients, and a real new call is answered at once.
    proxy = urlsplit(production.url)
    clients = _trickle(proxy.hostname, proxy.port, _tls_context(production))
    call = production.call()
    started = time.monotonic()
    twiml = start_in_english(call)
    answered_in = time.monotonic() - started
    assert twiml.find("Gather") is not None
    assert all(client.is_alive() for client in clients), "the slow clients finished first"
    assert answered_in < 5, f"a new call waited {answered_in:.1f} s behind slow clients"
    for client in clients:
        client.join(30)
