"""Forces tell us what they did: POST /forces/outcome, signed with the force's own
delivery secret (the one our deliveries to it are signed with).

    X-Helpline-Timestamp: 1764600000            (Unix seconds, within 5 minutes of now)
    X-Helpline-Signature: sha256=HMAC(secret, "<timestamp>." + body)
    {"delivery": "<the Idempotency-Key of our delivery>",
     "outcome": "investigation" | "passed_to_other_force" | "no_further_action" | ...,
     "passed_to": "<force id, for passed_to_other_force>", "note": "..."}

Answers JSON: 200 recorded; 400 a body we cannot use; 401 a bad signature or
timestamp; 404 no such delivery; 409 a replay (not newer than what is recorded).
No cookie, no sign-in: the signature is the credential. Audited like a
supervisor's entry, by "system", naming the force.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from ivr.core.db import get_session
from ivr.core.runtime import get_core
from ivr.models import Dissemination, utcnow
from ivr.records import force_outcomes

URL_PREFIX = "/forces"
MAX_BODY = 8 * 1024


def make_blueprint() -> Blueprint:
    bp = Blueprint("force_replies", __name__, url_prefix=URL_PREFIX)
    bp.add_url_rule("/outcome", view_func=outcome, methods=["POST"])
    return bp


def _answer(status: int, **body: Any) -> tuple[Response, int]:
    return jsonify(body), status


def outcome() -> tuple[Response, int]:
    if (request.content_length or 0) > MAX_BODY:
        return _answer(413, error="The body is too long.")
    body = request.get_data(cache=False)[: MAX_BODY + 1]
    try:
        reply = json.loads(body)
        key = str(reply["delivery"])
        said = str(reply["outcome"])
    except (ValueError, KeyError, TypeError):
        return _answer(400, error='Send JSON with "delivery" and "outcome".')
    db = get_session()
    found = db.scalar(select(Dissemination).where(Dissemination.idempotency_key == key))
    runtime = get_core()
    route = runtime.routes.routes.get(found.force_id) if found is not None else None
    if found is None or route is None or not route.secret:
        return _answer(404, error="No delivery has that key.")
    try:
        signed_at = force_outcomes.reply_time(
            route.secret,
            request.headers.get(force_outcomes.TIMESTAMP_HEADER),
            body,
            request.headers.get(force_outcomes.SIGNATURE_HEADER),
            utcnow(),
        )
    except force_outcomes.OutcomeRefused as exc:
        return _answer(401, error=str(exc))
    if force_outcomes.is_replay(found, signed_at):
        return _answer(409, error="Already recorded: a reply must be newer than the last one.")
    try:
        force_outcomes.record_force_outcome(
            db,
            found,
            said,
            None,
            note=str(reply.get("note") or "")[:2000] or None,
            now=signed_at,
            passed_to=str(reply.get("passed_to") or "") or None,
            forces=runtime.forces,
            reported_by=found.force_id,
        )
    except force_outcomes.OutcomeRefused as exc:
        db.rollback()
        return _answer(400, error=str(exc))
    return _answer(200, recorded=said)
