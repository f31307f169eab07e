"""Input no form or page can use, refused before any view sees it, with a clear answer
instead of a database error (HTTP 500):

- an id in a URL past the database's integer range (`/console/queue/99999999999999/take`):
  every `<int:...>` in a route accepts 1 to 2^31 - 1 only, anything else is a 404 (a
  call's `<call_id:...>`, 1 to 2^53 - 1: its ids are drawn at random, ivr/models/calls.py);
- a NUL character in the path, the query string or a form field (PostgreSQL refuses
  NUL in text outright): a 400 that says so. Twilio's webhooks clean their own
  values at the door instead (ivr/voice/door.py), so a caller is never refused.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

from ivr.models.calls import MAX_UNORDERED_ID
from ivr.voice.urls import is_webhook_path

MAX_ID = 2**31 - 1


class DatabaseId(IntegerConverter):
    """`<int:...>` within the range of the database's integer columns."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class CallId(DatabaseId):
    """`<call_id:...>`: a call's id, 64-bit and drawn at random."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_UNORDERED_ID)
        super().__init__(*args, **kwargs)


def install(app: Flask) -> None:
    """Before any route is added: the bounded ids; and the NUL check on every request."""
    app.url_map.converters["int"] = DatabaseId
    app.url_map.converters["call_id"] = CallId
    app.before_request(_refuse_nul)


def _refuse_nul() -> Response | None:
    if is_webhook_path(request.path):
        return None
    values = [request.path, *request.args.values()]
    if request.method == "POST" and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        values += request.form.values()
    if any("\x00" in value for value in values):
        return Response(
            "That request carries a NUL character, which no field may hold. Go back and remove it.",
            status=400,
            mimetype="text/plain",
        )
    return None
