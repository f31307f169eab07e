"""The yardstick: a bare Flask app that answers every webhook with one fixed TwiML document.

bench/webhooks.py serves it under the same gunicorn settings as the helpline, so
the difference between the two is the helpline's own work (signature, state, flow).
"""

from __future__ import annotations

from flask import Flask, Response
from twilio.twiml.voice_response import Gather, VoiceResponse


def _fixed_twiml() -> str:
    # About the size of the helpline's welcome: a spoken menu inside a Gather, then a Redirect.
    response = VoiceResponse()
    gather = Gather(action="/voice/step/force?seq=1", method="POST", input="dtmf", num_digits=1)
    gather.say("Which police force does the person work for? " * 6, voice="Polly.Amy")
    response.append(gather)
    response.redirect("/voice/step/force?seq=1", method="POST")
    return str(response)


FIXED_TWIML = _fixed_twiml()

app = Flask(__name__)


@app.post("/voice/<path:_anything>")
def answer(_anything: str) -> Response:
    return Response(FIXED_TWIML, mimetype="text/xml")
