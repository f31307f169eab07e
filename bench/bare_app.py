"""The yardstick: a bare Flask app that answers webhooks with fixed TwiML documents.

bench/webhooks.py and bench/callers.py serve it under the same gunicorn settings as
the helpline, so the difference between the two is the helpline's own work
(signature, state, flow). Nothing is read or stored: a call's menus are counted in
the action URL (`seq`), so bench/callers.py's callers walk it as they walk the
helpline, to the queue and out, at the same pace.
"""

from __future__ import annotations

from flask import Flask, Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.sim.walks import keys_to_queue

# As many menus as the helpline's own path to the queue, read from its flow once.
MENUS = len(keys_to_queue())


def _menu(seq: int) -> str:
    # About the size of the helpline's welcome: a spoken menu inside a Gather, then a Redirect.
    action = f"/voice/step/force?seq={seq}"
    response = VoiceResponse()
    gather = Gather(action=action, method="POST", input="dtmf", num_digits=1)
    gather.say("Which police force does the person work for? " * 6, voice="Polly.Amy")
    response.append(gather)
    response.redirect(action, method="POST")
    return str(response)


def _queue() -> str:
    response = VoiceResponse()
    response.say("Thank you. Please hold for someone to answer. " * 2, voice="Polly.Amy")
    response.enqueue("helpline", wait_url="/voice/wait", action="/voice/queue-left")
    return str(response)


def _hold() -> str:
    response = VoiceResponse()
    response.say("Thank you for holding. Someone will answer soon.", voice="Polly.Amy")
    response.pause(length=20)
    return str(response)


MENU_TWIML = [_menu(seq) for seq in range(1, MENUS + 1)]
FIXED_TWIML = MENU_TWIML[0]
QUEUE_TWIML, HOLD_TWIML, EMPTY_TWIML = _queue(), _hold(), str(VoiceResponse())

app = Flask(__name__)


@app.post("/voice/<path:where>")
def answer(where: str) -> Response:
    if where.startswith("step/"):
        seq = request.args.get("seq", 1, type=int) or 1
        twiml = MENU_TWIML[seq] if seq < MENUS else QUEUE_TWIML  # after the last key
    elif where == "wait":
        twiml = HOLD_TWIML
    elif where in ("queue-left", "status"):
        twiml = EMPTY_TWIML
    else:
        twiml = FIXED_TWIML
    return Response(twiml, mimetype="text/xml")
