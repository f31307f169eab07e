"""Gwasanaeth Cymraeg: the whole line in Welsh, chosen at the start or by a Welsh-first number."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr import create_app
from ivr.core.db import get_engine, get_session
from ivr.core.forces import ForceCatalogue
from ivr.core.settings import PROJECT_ROOT
from ivr.core.spoken import spoken_words
from ivr.models import Call
from ivr.sim.twilio import SimulatedCall, flask_transport, heard, spoken
from ivr.voice.flows.catalogue import load_flow
from ivr.voice.flows.check import check_flows
from ivr.voice.flows.path_times import keypad_paths
from tests.conftest import AUTH_TOKEN

HELPLINE = load_flow(PROJECT_ROOT / "call_flows" / "helpline")
WELSH = ("Polly.Gwyneth", "cy-GB")
ENGLISH = ("Polly.Amy", "en-GB")
WELSH_FIRST_NUMBER = "+448000850001"


def the_call(app) -> Call:  # type: ignore[no-untyped-def]
    with app.app_context():
        (call,) = get_session().scalars(select(Call)).all()
        return call


def english_only_texts() -> list[str]:
    """English prompts that differ from every Welsh one (names like "Gwent" are shared)."""
    welsh = set(HELPLINE.prompts["cy"].values())
    return [t for t in HELPLINE.prompts["en"].values() if len(t) > 12 and t not in welsh]


def test_every_prompt_has_a_welsh_text_and_the_same_placeholders():
    assert HELPLINE.languages == ("en", "cy")
    assert HELPLINE.prompts["cy"].keys() == HELPLINE.prompts["en"].keys()
    assert (HELPLINE.voices["cy"].voice, HELPLINE.voices["cy"].language) == WELSH


def test_the_language_choice_speaks_each_option_in_its_own_language(new_call):
    call = new_call()
    said = heard(call.start())
    assert [(h.text, h.voice, h.language) for h in said] == [
        ("English, 1.", *ENGLISH),
        ("Cymraeg, 2.", *WELSH),
    ]


def test_a_full_welsh_call_reaches_the_queue_in_welsh(new_call, app):
    call = new_call()
    call.start()
    heard_in_welsh = heard(call.press("2"))
    # a volunteer, the regions, Wales, North Wales Police, sexual misconduct, someone at
    # risk, anonymous
    for key in ["3", "1", "7", "3", "3", "1", "1"]:
        heard_in_welsh += heard(call.press(key))
    assert call.twiml is not None and call.twiml.find("Enqueue") is not None
    heard_in_welsh += heard(call.wait_in_queue())

    assert heard_in_welsh, "nothing was said"
    assert {(h.voice, h.language) for h in heard_in_welsh} == {WELSH}
    words = " ".join(h.text for h in heard_in_welsh)
    for text in english_only_texts():
        assert text not in words
    assert "Llinell gwrth-lygredd a cham-drin yr heddlu" in words
    assert "Rhoi gwybod am swyddog, 1; staff, 2; gwirfoddolwr, 3;" in words
    assert "Pa heddlu? Dywedwch yr enw, neu 1 am restr." in words
    assert "Gogledd Cymru, 3;" in words
    assert "Ai llwgrwobrwyo, 1; budd personol, 2; camymddwyn rhywiol, 3;" in words
    assert "rhowch y ffôn i lawr a ffoniwch naw naw naw" in words  # the urgent advice
    assert "Rydych chi'n rhif 1 yn y ciw." in words
    recorded = the_call(app)
    assert (recorded.language, recorded.force, recorded.urgent) == ("cy", "north-wales", True)
    assert (recorded.role, recorded.category) == ("volunteer", "sexual")


def test_a_welsh_first_number_starts_in_welsh(new_call, app):
    call = new_call(to_number=WELSH_FIRST_NUMBER)
    said = heard(call.start())
    assert said[0].text.startswith("Llinell gwrth-lygredd a cham-drin yr heddlu")
    assert {(h.voice, h.language) for h in said} == {WELSH}
    call.silence()  # the welcome stored nothing; the first step stores the call
    assert the_call(app).language == "cy"


def test_a_welsh_caller_can_say_a_force_and_hear_it_read_back_in_welsh(new_call, app):
    call = new_call(to_number=WELSH_FIRST_NUMBER)
    call.start()
    gather = call.press("1").find("Gather")  # a police officer: on to the force
    assert gather is not None
    # Twilio cannot recognise Welsh speech, so the recogniser listens in en-GB,
    # with the Welsh names of the forces among its hints; the keypad still works.
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "en-GB"
    assert "Heddlu Gogledd Cymru" in gather.get("hints", "")
    said = heard(call.say("Heddlu De Cymru"))
    assert said[0].text.startswith("Clywais i: De Cymru.")
    assert {(h.voice, h.language) for h in said} == {WELSH}
    call.press("1")
    assert the_call(app).force == "south-wales"


def test_silence_at_the_language_choice_goes_on_in_english(new_call):
    call = new_call()
    call.start()
    words = " ".join(spoken(call.silence()))
    assert words.startswith("Police anti-corruption and abuse line")
    assert "Sorry" not in words


def test_a_wrong_key_at_the_language_choice_says_so_and_asks_again(new_call):
    call = new_call()
    call.start()
    said = heard(call.press("7"))
    assert said[0].text == "Sorry, that key is not one of the choices."
    assert said[-1].text == "Cymraeg, 2."


@pytest.mark.parametrize("language", HELPLINE.languages)
def test_the_shortest_keypad_path_to_the_queue_is_under_60_seconds(new_call, language: str):
    """The word estimate (pauses counted); bench/speech.py measures the audio itself."""
    path = keypad_paths(HELPLINE)[language]
    limit = HELPLINE.limits["path_seconds"]
    assert path.seconds < limit, f"{language}: {path.seconds:.1f} s ({path.words} words)"
    # Walk the same keys through the real webhooks and count what the caller hears.
    call = new_call(to_number=path.dialled)
    words = sum(spoken_words(text) for text in spoken(call.start()))
    for key in path.keys:
        words += sum(spoken_words(text) for text in spoken(call.press(key)))
    assert call.twiml is not None and call.twiml.find("Enqueue") is not None
    assert words == path.words
    print(f"shortest keypad path in {language}: {path.seconds:.1f} s, {path.words} words")


def test_a_further_language_needs_only_prompt_files_and_the_language_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings_overrides
):
    flows = tmp_path / "call_flows"
    shutil.copytree(PROJECT_ROOT / "call_flows", flows)
    flow_toml = flows / "helpline" / "flow.toml"
    text = flow_toml.read_text()
    text = text.replace('languages = ["en", "cy"]', 'languages = ["en", "cy", "fr"]')
    text = text.replace(
        "[limits]", '[voices.fr]\nvoice = "Polly.Lea"\nlanguage = "fr-FR"\n\n[limits]'
    )
    text = text.replace("path_seconds = 55", "path_seconds = 120")
    text = text.replace(
        '{ key = "2", label = "language.name", language = "cy", next = "welcome" },',
        '{ key = "2", label = "language.name", language = "cy", next = "welcome" },\n'
        '  { key = "3", label = "language.name", language = "fr", next = "welcome" },',
    )
    flow_toml.write_text(text)
    french = (flows / "helpline" / "prompts" / "en.toml").read_text()
    french = french.replace('name = "English"', 'name = "Français"')
    french = french.replace('"English, {key}."', '"Pour le français, appuyez sur {key}."')
    french = french.replace("Police anti-corruption and abuse line", "Merci d'avoir appelé")
    (flows / "helpline" / "prompts" / "fr.toml").write_text(french)
    assert check_flows(flows, ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")) == []

    monkeypatch.setenv("IVR_FLOWS_DIR", str(flows))
    app = create_app(settings_overrides)
    try:
        call = SimulatedCall(flask_transport(app.test_client()), AUTH_TOKEN, "http://localhost/")
        offered = heard(call.start())
        assert ("Pour le français, appuyez sur 3.", "Polly.Lea") in [
            (h.text, h.voice) for h in offered
        ]
        said = heard(call.press("3"))
        assert said[0].text.startswith("Merci d'avoir appelé")
        assert {(h.voice, h.language) for h in said} == {("Polly.Lea", "fr-FR")}
        assert the_call(app).language == "fr"
    finally:
        get_engine(app).dispose()


def test_the_welsh_first_number_apologises_in_welsh_when_the_database_fails(
    sqlite_template: Path, tmp_path: Path, settings_overrides
):
    broken = tmp_path / "broken.db"
    shutil.copy(sqlite_template, broken)
    with sqlite3.connect(broken) as db:
        db.execute("DROP TABLE call_events")
        db.execute("DROP TABLE calls")
    app = create_app({**settings_overrides, "database_url": f"sqlite:///{broken}"})
    try:
        transport = flask_transport(app.test_client())
        welsh = SimulatedCall(transport, AUTH_TOKEN, "http://localhost/", WELSH_FIRST_NUMBER)
        welsh.start()  # the welcome needs nothing stored; the first step does
        (apology,) = heard(welsh.silence())
        assert apology.text.startswith("Mae'n ddrwg gen i, mae gennym ni broblem dechnegol.")
        assert (apology.voice, apology.language) == WELSH
        english = SimulatedCall(transport, AUTH_TOKEN, "http://localhost/")
        english.start()
        (apology,) = heard(english.silence())
        assert apology.text.startswith("Sorry, we have a technical problem.")
    finally:
        get_engine(app).dispose()
