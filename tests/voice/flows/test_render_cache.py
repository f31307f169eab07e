"""Rendered TwiML is remembered per state, but never a read-back of a contact number."""

from __future__ import annotations

from ivr.voice.runtime import get_voice
from tests.conftest import walk


def test_remembered_twiml_is_what_rendering_gives(app, new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    call.press("5")  # a notice in the state, too
    row = stored_call(call)
    runtime = get_voice(app)
    flow = runtime.flows.flows[row.line]
    first = runtime.renderer.render_text(row, flow)
    assert first == str(runtime.renderer.render(row, flow))
    assert runtime.renderer.render_text(row, flow) is first  # remembered


def test_a_contact_number_read_back_is_never_remembered(app, new_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact="02079460000")
    twiml = call.press("02079460000")
    assert "0 2 0, 7 9 4 6" in " ".join(s.text or "" for s in twiml.iter("Say"))
    remembered = "\n".join(get_voice(app).renderer._rendered.values())
    assert "7 9 4 6" not in remembered
