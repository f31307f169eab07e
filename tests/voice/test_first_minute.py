"""The caller's first minute: a person is one key (0) or one word away at every menu,
the welcome can be interrupted, and the words say what they mean."""

from __future__ import annotations

import re

import pytest

from ivr.core.settings import PROJECT_ROOT
from ivr.sim.twilio import heard, spoken
from ivr.sim.walks import Answers, keys_until
from ivr.voice.flows.catalogue import load_flow
from tests.conftest import press_all, walk

HELPLINE = load_flow(PROJECT_ROOT / "call_flows" / "helpline")


def said(twiml) -> str:  # type: ignore[no-untyped-def]
    return " ".join(spoken(twiml))


# Answers that bring a caller to each menu or read-back (ivr/sim/walks.py), then 0.
MENUS = {
    "language": Answers(),
    "role": Answers(),
    "force": Answers(),
    "force_region": Answers(),
    "force_london_south_east": Answers(),
    "category": Answers(),
    "risk": Answers(),
    "anonymity": Answers(),
    "contact_confirm": Answers(anonymous=False, contact="02079460000"),
    "calling_confirm": Answers(anonymous=False),
}


@pytest.mark.parametrize("menu", sorted(MENUS))
def test_0_at_any_menu_is_straight_to_a_person(new_call, stored_call, menu):
    call = new_call()
    call.start()
    keys = keys_until(menu, MENUS[menu])
    press_all(call, keys)
    # The welcome stores nothing: at the first menu the call is not in the database yet.
    assert stored_call(call).step == menu if keys else stored_call(call) is None
    twiml = call.press("0")
    assert twiml.find("Enqueue") is not None, said(twiml)
    row = stored_call(call)
    assert row.status == "queued"
    # A number not yet confirmed is not kept (the handler can take it); a caller who
    # had not chosen stays anonymous, and is told so while waiting.
    assert row.contact_number_enc is None
    if menu not in ("contact_confirm", "calling_confirm"):
        assert row.anonymous is None
        assert "Your call is anonymous." in said(call.wait_in_queue())


def test_what_was_answered_before_0_goes_with_the_caller(new_call, stored_call):
    call = new_call()
    walk(call, to="anonymity", urgent=True)  # an officer, the Met, bribery, at risk now
    call.press("0")
    row = stored_call(call)
    assert (row.force, row.urgent, row.status) == ("metropolitan", True, "queued")
    assert stored_call(call).answers["urgent"] is True


@pytest.mark.parametrize("menu", ["role", "category"])
def test_0_at_the_role_or_category_menu_keeps_the_earlier_answers(new_call, stored_call, menu):
    call = new_call()
    walk(call, to=menu, role="staff", force="gwent")
    twiml = call.press("0")
    assert twiml.find("Enqueue") is not None
    row = stored_call(call)
    assert row.status == "queued" and row.answers.get("_pending") is None
    if menu == "role":
        assert (row.role, row.force, row.category) == (None, None, None)
    else:
        assert (row.role, row.force, row.category) == ("staff", "gwent", None)
    assert row.anonymous is None and row.urgent is False


def test_0_in_a_typed_number_is_a_digit(new_call, stored_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact="0")
    twiml = call.press("0")  # the number's first digit, not the operator
    assert twiml.find("Enqueue") is None
    assert stored_call(call).step == "contact_number"


@pytest.mark.parametrize("words", ["operator", "I want to speak to someone", "Siarad â rhywun"])
def test_saying_operator_or_speak_to_someone_is_straight_to_a_person(new_call, words):
    call = new_call()
    walk(call, to="force")  # the question that listens to speech
    twiml = call.say(words)
    assert twiml.find("Enqueue") is not None


def test_the_welcome_is_inside_the_gather_and_names_0_once(new_call):
    call = new_call()
    call.start()
    first = call.press("1")
    gather = first.find("Gather")
    assert gather is not None
    inside = " ".join(say.text or "" for say in gather.iter("Say"))
    assert inside.startswith("Police anti-corruption and abuse line")
    assert "For a person, press 0; not sure, 9; a reference, 8." in inside
    # Said once: no menu after the welcome repeats it.
    words = said(first)
    for key in keys_until("", Answers())[1:]:
        words += " " + said(call.press(key))
    assert len(re.findall(r"press 0", words)) == 1
    assert len(re.findall(r"\b0\b", words)) == 1


def test_the_welsh_welcome_is_inside_the_gather_too(new_call):
    call = new_call(to_number="+448000850001")
    gather = call.start().find("Gather")
    assert gather is not None
    assert " ".join(s.text or "" for s in gather.iter("Say")).startswith(
        "Llinell gwrth-lygredd a cham-drin yr heddlu"
    )


def test_the_welcome_keeps_every_promise_in_both_languages():
    english = HELPLINE.prompt("en", "welcome")
    for promise in [
        "free",
        "independent",
        "not the police",
        "anonymous",
        "not traced or recorded",
        "nine nine nine",
        "press 0",
        "not sure, 9",
        "a reference, 8",
    ]:
        assert promise in english.replace("aren't", "not"), promise
    welsh = HELPLINE.prompt("cy", "welcome")
    for promise in [
        "am ddim",
        "annibynnol",
        "nid yr heddlu",
        "ddienw",
        "olrhain na recordio",
        "naw naw naw",
        "pwyswch 0",
        "ansicr, 9",
        "cyfeirnod, 8",
    ]:
        assert promise in welsh, promise


def test_words_that_tripped_callers_up_are_gone():
    english = HELPLINE.prompts["en"]
    # "Police Service" sounded like a force's name (it is one: the PSNI's, in the menu).
    assert not any(
        "police service" in text.lower()
        for key, text in english.items()
        if key != "force.northern-ireland"
    )
    # Who is reported is asked before the force question asks where they work.
    steps = HELPLINE.steps
    assert steps["welcome"].next == "role" and steps["role"].options[0].next == "force"
    assert english["role.ask"] == "Are you reporting"
    welsh = HELPLINE.prompts["cy"]
    # The line's Welsh name keeps the police in it...
    assert welsh["welcome"].split(":")[0].endswith("yr heddlu")
    # ...and nothing after "nid yr heddlu" sends the caller to the police.
    assert "heddlu" not in welsh["welcome"].split("nid yr heddlu", 1)[1]


def test_a_caller_who_left_a_number_is_not_told_the_call_is_anonymous(new_call):
    call = new_call(from_number="+447911123456")
    walk(call, anonymous=False)  # the number I'm calling from; that's right
    assert call.twiml.find("Enqueue") is not None
    waiting = said(call.wait_in_queue())
    assert "anonymous" not in waiting
    assert "Please stay on the line." in waiting


def test_the_calling_number_is_read_back_as_theirs_in_welsh_too(new_call):
    call = new_call(to_number="+448000850001", from_number="+447911123456")
    walk(call, to="calling_confirm", start="welcome", language="cy", anonymous=False)
    words = [h.text for h in heard(call.twiml)]
    assert any("Y rhif rydych chi'n ffonio ohono yw 0 7 9 1 1" in w for w in words)
    assert not any(w.startswith("Clywais i") for w in words)


def test_the_welsh_regions_say_the_english_midlands_not_mid_wales(new_call):
    # "Canolbarth" alone is Mid Wales to a Welsh speaker: a caller from Powys would press
    # it for Dyfed-Powys, which is under "Cymru".
    call = new_call(to_number="+448000850001")
    twiml = walk(call, to="force_region", start="welcome", language="cy")
    regions = said(twiml)
    key = next(o.key for o in HELPLINE.steps["force_region"].options if "midlands" in o.label)
    assert f"Canolbarth Lloegr, {key};" in regions
    assert "Canolbarth," not in regions
