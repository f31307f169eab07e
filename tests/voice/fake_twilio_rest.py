"""A fake of Twilio's REST API on 127.0.0.1: just a call's update (POST) and DELETE.

Twilio's own REST client talks to it (`PointedHttpClient` sends what would go to
https://api.twilio.com to this server instead), so the request is the one the
library really makes. Each call it knows is "in-progress" (refused with Twilio's
error 20009), "completed" (deleted: 204), or unknown (404, error 20404); `down`
answers 503 to everything, as Twilio does when it is out.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from twilio.http.http_client import TwilioHttpClient

TWILIO_API = "https://api.twilio.com"
CALL_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls/(CA[0-9a-f]{32})\.json$")


class PointedHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, with api.twilio.com replaced by `base_url`."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


@dataclass
class FakeTwilio:
    account_sid: str
    calls: dict[str, str] = field(default_factory=dict)  # CallSid -> status
    down: bool = False
    deleted: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""


def _handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            # A call's update (taking a caller): the call as Twilio answers it.
            state.requests.append(("POST", self.path))
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            match = CALL_PATH.match(self.path)
            if not match or state.calls.get(match.group(2)) != "in-progress":
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            self._answer(200, {"sid": match.group(2), "account_sid": match.group(1)})

        def do_DELETE(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append(("DELETE", self.path))
            if state.down:
                self._answer(503, {"code": 20503, "message": "Service unavailable", "status": 503})
                return
            match = CALL_PATH.match(self.path)
            if not match or match.group(1) != state.account_sid:
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            call_sid = match.group(2)
            status = state.calls.get(call_sid)
            if status is None:
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            elif status != "completed":
                self._answer(
                    400,
                    {
                        "code": 20009,
                        "message": "Cannot delete this resource before it is complete",
                        "status": 400,
                    },
                )
            else:
                del state.calls[call_sid]
                state.deleted.append(call_sid)
                self._answer(204)

    return Handler


@contextmanager
def fake_twilio(account_sid: str) -> Iterator[FakeTwilio]:
    state = FakeTwilio(account_sid)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
