"""ivr/sim/walks.py: the keys it reads from the flow give, through the real webhooks,
the answers asked for, so every test that walks the flow by answers can trust them."""

from __future__ import annotations

import pytest

from ivr.sim.walks import Answers, WalkError, keys_until
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
