from ivr.sim.twilio import spoken


def test_a_call_reaches_the_queue(new_call):
    call = new_call()
    call.start()  # the line first offers English or Welsh
    twiml = call.press("1")
    assert "independent charity" in " ".join(spoken(twiml))
    for key in ["1", "1", "2", "1"]:  # London and South East, the Met, no risk, anonymous
        twiml = call.press(key)
    assert twiml.find("Enqueue") is not None, spoken(twiml)
