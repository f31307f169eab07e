"""Walk every path of the helpline's flow as Twilio would: signed posts, TwiML followed."""

from __future__ import annotations

import csv
import tomllib

import pytest

from ivr.core.settings import PROJECT_ROOT
from ivr.sim.twilio import spoken
from ivr.sim.walks import keys_to_queue
from tests.conftest import walk

ROOT = PROJECT_ROOT
SHARED_FORCES = ROOT.parent / "shared" / "reference" / "uk_police_forces.csv"
FLOW = tomllib.loads((ROOT / "call_flows" / "helpline" / "flow.toml").read_text())


def keypad_routes() -> dict[str, tuple[str, str]]:
    """force id -> (region key, force key), read from the flow's menus."""
    routes = {}
    for region in FLOW["steps"]["force_region"]["options"]:
        submenu = FLOW["steps"].get(region["next"])
        if submenu is None or submenu.get("answer") != "force":
            continue
        for option in submenu["options"]:
            if option.get("value") not in (None, "unknown"):
                routes[option["value"]] = (region["key"], option["key"])
    return routes


def force_ids_in_reference() -> set[str]:
    forces = tomllib.loads((ROOT / "config" / "forces.toml").read_text())["forces"]
    if SHARED_FORCES.exists():
        with SHARED_FORCES.open() as fh:
            reference = {row["id"] for row in csv.DictReader(fh)}
        assert reference == set(forces)
    return set(forces)


def said(twiml) -> str:  # type: ignore[no-untyped-def]
    return " ".join(spoken(twiml))


def test_every_uk_force_is_reachable_by_keypad():
    assert set(keypad_routes()) == force_ids_in_reference()
    assert len(keypad_routes()) == 48


@pytest.mark.parametrize("force_id", sorted(keypad_routes()))
def test_each_force_by_keypad(new_call, stored_call, force_id):
    region_key, force_key = keypad_routes()[force_id]
    call = new_call()
    walk(call, to="force")
    call.press("1")  # the list of regions
    call.press(region_key)
    twiml = call.press(force_key)
    assert said(twiml).startswith("Is it bribery, 1;")  # on to the category
    assert stored_call(call).force == force_id


SPOKEN = [
    ("the Met", "metropolitan"),
    ("Metropolitan Police Service", "metropolitan"),
    ("West Mids", "west-midlands"),
    ("north yorks", "north-yorkshire"),
    ("it was greater manchester police", "greater-manchester"),
    ("Dyfed Powis", "dyfed-powys"),
    ("PSNI", "northern-ireland"),
    ("British Transport Police", "btp"),
]


@pytest.mark.parametrize(("words", "force_id"), SPOKEN)
def test_force_by_speech_is_read_back_and_confirmed(new_call, stored_call, words, force_id):
    call = new_call()
    twiml = walk(call, to="force")
    assert call.gather().get("input") == "dtmf speech"
    assert "the Met" in call.gather().get("hints")
    twiml = call.say(words)
    from ivr.core.forces import ForceCatalogue

    name = ForceCatalogue.load(ROOT / "config" / "forces.toml").name(force_id)
    assert f"I heard {name}." in said(twiml)
    assert stored_call(call).force is None  # not until confirmed
    call.press("1")
    assert stored_call(call).force == force_id


def all_force_names() -> list[tuple[str, str]]:
    forces = tomllib.loads((ROOT / "config" / "forces.toml").read_text())["forces"]
    return sorted((force["name"], force_id) for force_id, force in forces.items())


@pytest.mark.parametrize(("name", "force_id"), all_force_names())
def test_each_force_by_speech(new_call, stored_call, name, force_id):
    call = new_call()
    walk(call, to="force")
    twiml = call.say(name)
    assert f"I heard {name}." in said(twiml)
    call.press("1")
    assert stored_call(call).force == force_id


def test_every_force_name_is_understood(app):
    from ivr.core.runtime import get_core

    forces = get_core(app).forces
    for force in forces.forces.values():
        assert forces.match(force.name) == force.id
        for alias in force.aliases:
            assert forces.match(alias) == force.id, alias


def test_a_misheard_force_can_be_rejected(new_call, stored_call):
    call = new_call()
    walk(call, to="force")
    call.say("Kent")
    twiml = call.press("2")
    assert "Which force? Say it, or press 1 for a list." in said(twiml)
    assert stored_call(call).force is None
    call.say("Essex")
    call.press("1")
    assert stored_call(call).force == "essex"


def test_an_unrecognised_force_reprompts_then_moves_on(new_call, stored_call):
    call = new_call()
    walk(call, to="force")
    twiml = call.say("banana republic")
    assert "didn't catch the force's name" in said(twiml)
    call.say("no idea mate")
    twiml = call.say("something")
    assert "Is it bribery" in said(twiml)
    assert stored_call(call).force == "unknown"


def test_the_flow_asks_role_force_category_risk_then_anonymity(new_call, stored_call):
    """Who (role), which force, what about (category), anyone at risk now, anonymity:
    the handler's queue, whisper and report open with them."""
    call = new_call()
    welcome = said(start := call.start())
    assert start is not None and "English, 1." in welcome
    asked = said(call.press("1"))
    assert asked.startswith("Police anti-corruption and abuse line")
    assert "Are you reporting an officer, 1; staff, 2; a volunteer, 3;" in asked
    assert said(call.press("3")).startswith("Which force? Say it, or press 1 for a list.")
    assert said(call.press("9")).startswith(
        "Is it bribery, 1; personal gain, 2; sexual misconduct, 3; domestic abuse, 4; "
        "discrimination, 5; other, 6;"
    )
    assert said(call.press("4")).startswith("Is anyone at risk now? Yes, 1; No, 2;")
    assert said(call.press("2")).startswith("Stay anonymous, 1;")
    assert call.press("1").find("Enqueue") is not None
    row = stored_call(call)
    assert (row.role, row.force, row.category) == ("volunteer", "unknown", "domestic_abuse")
    assert (row.urgent, row.anonymous, row.answers["urgent"]) == (False, True, False)


def test_not_sure_is_9_at_every_question_and_never_spoken_there(new_call, stored_call):
    call = new_call()
    twiml = walk(call, role="unknown", force="unknown", category="unknown", urgent="unknown")
    assert twiml.find("Enqueue") is not None
    row = stored_call(call)
    assert (row.role, row.force, row.category, row.answers["urgent"]) == ("unknown",) * 4
    call = new_call()
    heard = said(call.start()) + said(call.press("1"))
    assert "not sure, 9" in heard  # said once, in the welcome
    for key in keys_to_queue()[1:]:
        heard += said(call.press(key))
    assert heard.count(", 9;") == 1 and "Not sure" not in heard


def walk_to_anonymity(call) -> None:  # type: ignore[no-untyped-def]
    walk(call, to="anonymity")  # an officer, the Met, bribery, nobody at risk


def test_anonymous_caller_is_queued_with_context(new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    twiml = call.press("1")
    enqueue = twiml.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == "helpline"
    assert enqueue.get("waitUrl") == "/voice/wait"
    # Nothing before the queue: the wait message, at once, says to stay on the line.
    assert said(twiml) == ""
    assert "Please stay on the line." in said(call.wait_in_queue())
    row = stored_call(call)
    assert (row.force, row.role, row.category, row.urgent, row.anonymous) == (
        "metropolitan",
        "officer",
        "bribery",
        False,
        True,
    )
    assert row.answers["urgent"] is False
    assert row.status == "queued" and row.queued_at is not None
    assert row.contact_number_enc is None


def test_risk_marks_urgent_and_repeats_999_advice(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    twiml = call.press("1")
    assert "call nine nine nine" in said(twiml)
    assert stored_call(call).urgent is True


def test_urgent_callers_wait_ahead_of_others(new_call):
    def queue(urgent: bool):  # type: ignore[no-untyped-def]
        call = new_call()
        walk(call, urgent=urgent)
        return call

    first, second = queue(False), queue(False)
    urgent = queue(True)
    place = {}
    for name, call in [("first", first), ("second", second), ("urgent", urgent)]:
        twiml = call.follow("/voice/wait", {"QueueTime": "10", "QueuePosition": "1"})
        place[name] = said(twiml)
    assert "number 1 in the queue" in place["urgent"]
    assert "number 2 in the queue" in place["first"]
    assert "number 3 in the queue" in place["second"]


def test_typed_contact_number_is_read_back_and_stored_encrypted(app, new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    asked = said(call.press("2"))  # leave a number
    assert asked == "This phone's number, 1; another number, 2;"
    twiml = call.press("2")  # another number
    assert call.gather().get("finishOnKey") == "#"
    twiml = call.press("07700 900".replace(" ", "") + "00")  # not a valid number
    assert "doesn't look like a phone number" in said(twiml)
    twiml = call.press("02079460000#")
    assert "I heard 0 2 0, 7 9 4 6, 0 0 0 0." in said(twiml)
    twiml = call.press("1")
    assert twiml.find("Enqueue") is not None
    row = stored_call(call)
    assert row.anonymous is False
    assert b"2079460000" not in row.contact_number_enc
    from ivr.core.runtime import get_core

    assert get_core(app).cipher.decrypt(row.contact_number_enc) == "+442079460000"


def test_international_number_with_double_zero(app, new_call, stored_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact="typed")
    twiml = call.press("0033142685300")
    assert "I heard 0 0, 3 3, 1, 4 2, 6 8, 5 3, 0 0." in said(twiml)
    call.press("1")
    from ivr.core.runtime import get_core

    assert get_core(app).cipher.decrypt(stored_call(call).contact_number_enc) == "+33142685300"


def test_calling_number_is_used_only_on_its_own_key(app, new_call, stored_call):
    call = new_call(from_number="+447911123456")
    walk(call, to="contact_how", anonymous=False)
    twiml = call.press("1")  # this phone's number
    # Read back as theirs, not as something "heard": they typed nothing.
    assert "The number you're calling from is 0 7 9 1 1, 1 2 3 4 5 6." in said(twiml)
    assert "I heard" not in said(twiml)
    call.press("1")
    from ivr.core.runtime import get_core

    assert get_core(app).cipher.decrypt(stored_call(call).contact_number_enc) == "+447911123456"


def test_withheld_calling_number_asks_for_a_typed_one(new_call, stored_call):
    call = new_call(from_number="anonymous")
    walk(call, to="contact_how", anonymous=False)
    twiml = call.press("1")  # this phone's number
    assert "withheld" in said(twiml)
    assert call.gather().get("finishOnKey") == "#"
    assert stored_call(call).contact_number_enc is None


def test_rejected_number_is_erased(new_call, stored_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact="typed")
    call.press("02079460000")
    call.press("2")
    assert stored_call(call).contact_number_enc is None


def test_wrong_key_says_so_and_reprompts(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    twiml = call.press("5")
    assert "not one of the choices" in said(twiml)
    assert "Is anyone at risk now?" in said(twiml)
    assert stored_call(call).tries == 1


def test_star_repeats_without_counting_a_failure(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    twiml = call.press("*")
    assert said(twiml).startswith("Is anyone at risk now?")
    assert stored_call(call).tries == 0


def test_silence_reprompts(new_call):
    call = new_call()
    walk(call, to="force")
    twiml = call.silence()
    assert "didn't hear a choice" in said(twiml)
    assert "Which force? Say it, or press 1 for a list." in said(twiml)


def test_three_failures_record_unknown_and_move_on_never_hang_up(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    call.press("5")
    call.silence()
    twiml = call.press("#")
    assert "Let's move on" in said(twiml)
    assert "Stay anonymous, 1" in said(twiml)
    assert twiml.find("Hangup") is None
    assert stored_call(call).answers["urgent"] == "unknown"


def test_anonymity_failures_default_to_anonymous(new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    for _ in range(3):
        twiml = call.silence()
    assert twiml.find("Enqueue") is not None
    assert stored_call(call).anonymous is True


def test_every_step_is_logged_as_an_event(new_call, stored_call, app):
    call = new_call()
    walk_to_anonymity(call)
    call.press("9")
    call.press("1")
    from sqlalchemy import select

    from ivr.core.db import get_session
    from ivr.models import CallEvent

    with app.app_context():
        events = (
            get_session()
            .scalars(
                select(CallEvent)
                .where(CallEvent.call_id == stored_call(call).id)
                .order_by(CallEvent.seq)
            )
            .all()
        )
        steps = [(e.step, e.outcome, e.value) for e in events]
    assert steps == [
        ("language", "chose", "1"),
        ("role", "chose", "officer"),
        ("force", "chose", "1"),
        ("force_region", "chose", "1"),
        ("force_london_south_east", "chose", "metropolitan"),
        ("category", "chose", "bribery"),
        ("risk", "chose", "False"),
        ("anonymity", "invalid", None),
        ("anonymity", "chose", "True"),
    ]


def test_queue_offers_to_leave_after_a_wait(new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    call.press("1")
    early = call.follow("/voice/wait", {"QueueTime": "30"})
    assert early.find("Gather") is None
    assert "anonymous" in said(early)
    late = call.follow("/voice/wait", {"QueueTime": "200"})
    assert "report online at crimestoppers-uk.org" in said(late)
    leave = call.press("2")
    assert leave.find("Leave") is not None
    goodbye = call.follow("/voice/queue-left", {"QueueResult": "leave", "QueueTime": "210"})
    assert "crimestoppers-uk.org" in said(goodbye)
    assert goodbye.find("Hangup") is not None
    call.hang_up()
    row = stored_call(call)
    assert row.outcome == "left_for_online"
    assert row.status == "ended"


def test_keep_holding_returns_to_the_wait_messages(new_call):
    call = new_call()
    walk_to_anonymity(call)
    call.press("1")
    call.follow("/voice/wait", {"QueueTime": "200"})
    twiml = call.press("1")
    assert "in the queue" in said(twiml)


def test_status_records_where_a_caller_hung_up(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    call.hang_up(duration=42)
    row = stored_call(call)
    assert (row.status, row.outcome, row.abandoned_step, row.duration_seconds) == (
        "ended",
        "abandoned",
        "risk",
        40,  # 42 s kept to the waiting-time histogram's 10-second step (call_end.py)
    )
    assert row.live_call_sid is None


def test_status_callback_twice_or_late_changes_nothing(new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    call.press("1")
    call.hang_up(duration=100)
    first = stored_call(call)
    status, _ = call.post("/voice/status", {"CallDuration": "5"}, call_status="completed")
    assert status == 200
    again = stored_call(call)
    assert (again.ended_at, again.duration_seconds, again.outcome) == (
        first.ended_at,
        100,
        "left_queue",
    )


def test_unconfirmed_number_is_erased_when_the_caller_hangs_up(new_call, stored_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact="typed")
    call.press("02079460000")
    assert stored_call(call).contact_number_enc is not None
    call.hang_up()
    assert stored_call(call).contact_number_enc is None


def test_dialled_number_chooses_the_flow(new_call, stored_call):
    call = new_call(to_number="+448000850000")
    walk(call, to="role")
    assert stored_call(call).line == "helpline"
