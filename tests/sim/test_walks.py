"""ivr/sim/walks.py: the keys it reads from the flow give, through the real webhooks,
the answers asked for, so every test that walks the flow by answers can trust them; and
what bench/speech.py asks of it (each list's last option, what a caller who presses at
their option hears) is read from the flow, not assumed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.sim.walks import (
    Answers,
    WalkError,
    heard_until,
    keys_to_queue,
    keys_until,
    last_answers,
    list_ends,
)
from tests.conftest import walk

CASES = [
    Answers(),
    Answers(role="volunteer", force="civil-nuclear", category="other", urgent=True),
    Answers(role="unknown", force="unknown", category="unknown", urgent="unknown"),
    Answers(force="south-wales", anonymous=False),  # this phone's number
    Answers(force="gwent", anonymous=False, contact="02079460000"),
    Answers(language="cy", role="staff", force="north-wales", category="sexual"),
]


@pytest.mark.parametrize("answers", CASES, ids=range(len(CASES)))
def test_the_keys_give_the_answers(new_call, stored_call, answers: Answers):
    call = new_call()
    twiml = walk(call, **answers.__dict__)
    assert twiml.find("Enqueue") is not None
    row = stored_call(call)
    assert (row.language, row.role, row.force, row.category) == (
        answers.language,
        answers.role,
        answers.force,
        answers.category,
    )
    assert (row.answers["urgent"], row.anonymous) == (answers.urgent, answers.anonymous)
    assert (row.contact_number_enc is not None) == (not answers.anonymous)


def test_a_step_past_the_queue_is_a_clear_error():
    with pytest.raises(WalkError, match="reached the queue before step 'nowhere'"):
        keys_until("nowhere")


# A small line: a role list, a list of two regions (each a list of forces, with an
# unspoken "not sure"), a category list; the numbering is not the helpline's.
TINY_FLOW = """
start = "role"
[steps.role]
kind = "menu"
answer = "role"
options = [
  { key = "1", label = "a", value = "officer", next = "force" },
  { key = "2", label = "b", value = "staff", next = "force" },
  { key = "9", label = "c", value = "unknown", next = "force", spoken = false },
]
[steps.force]
kind = "menu"
answer = "force"
options = [
  { key = "1", label = "north", next = "force_north" },
  { key = "2", label = "south", next = "force_south" },
  { key = "9", label = "c", value = "unknown", next = "category", spoken = false },
]
[steps.force_north]
kind = "menu"
answer = "force"
options = [
  { key = "1", label = "x", value = "cumbria", next = "category" },
  { key = "2", label = "y", value = "durham", next = "category" },
  { key = "9", label = "c", value = "unknown", next = "category", spoken = false },
]
[steps.force_south]
kind = "menu"
answer = "force"
options = [{ key = "1", label = "z", value = "kent", next = "category" }]
[steps.category]
kind = "menu"
answer = "category"
options = [
  { key = "1", label = "p", value = "bribery", next = "queue" },
  { key = "2", label = "q", value = "other", next = "queue" },
]
[steps.queue]
kind = "queue"
"""


@pytest.fixture
def tiny_flow(tmp_path: Path) -> Path:
    (tmp_path / "flow.toml").write_text(TINY_FLOW)
    return tmp_path


def test_each_list_ends_at_its_last_spoken_value(tiny_flow: Path):
    # The list of regions holds no forces and "not sure" is never spoken: neither ends a list.
    assert list_ends("force", tiny_flow) == {"force_north": "durham", "force_south": "kent"}
    assert list_ends("role", tiny_flow) == {"role": "staff"}


def test_the_last_answers_are_each_lists_last_option(tiny_flow: Path):
    worst = last_answers(Answers(force="durham"), tiny_flow)
    assert (worst.role, worst.force, worst.category) == ("staff", "durham", "other")
    assert keys_to_queue(worst, flow_dir=tiny_flow) == ("2", "1", "2", "2")


def test_the_helpline_lists_every_region_to_its_last_force():
    ends = list_ends()
    assert len(ends) == 8 and ends["force_midlands"] == "west-midlands"
    assert last_answers().role == "volunteer" and last_answers().category == "other"


WELCOME = "Welcome. For a person, press 0; not sure, 9."
FORCE = "Which force? Say it, or press 1 for a list."


@pytest.mark.parametrize(
    ("texts", "key", "heard"),
    [
        # Cut just after the option's key, with its punctuation.
        (["Is it bribery, 1; gain, 2; other, 3;"], "2", ["Is it bribery, 1; gain, 2;"]),
        # Across <Say>s: the welcome before the question is heard whole.
        ([WELCOME, "Officer, 1; staff, 2;"], "1", [WELCOME, "Officer, 1;"]),
        ([WELCOME, "Officer, 1;"], "0", ["Welcome. For a person, press 0;"]),
        (["English, 1.", "Cymraeg, 2."], "2", ["English, 1.", "Cymraeg, 2."]),
        ([FORCE], "1", ["Which force? Say it, or press 1"]),
        # Not named here (9 was said once in the welcome): the menu is heard to its end.
        ([FORCE], "9", [FORCE]),
        # A key is a whole number: 1 is not in 11.
        (["Room 11, 2; hall, 1;"], "1", ["Room 11, 2; hall, 1;"]),
    ],
)
def test_a_caller_pressing_at_their_option_hears_up_to_it(texts, key, heard):
    assert heard_until(texts, key) == heard
