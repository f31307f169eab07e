from ivr.sim.twilio import spoken
from ivr.sim.walks import keys_to_queue


def test_a_call_reaches_the_queue(new_call):
    call = new_call()
    call.start()  # the line first offers English or Welsh
    twiml = call.press("1")
    assert "free, independent, not the police" in " ".join(spoken(twiml))
    for key in keys_to_queue()[1:]:  # an officer, the Met, bribery, no risk, anonymous
        twiml = call.press(key)
    assert twiml.find("Enqueue") is not None, spoken(twiml)
