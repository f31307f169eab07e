"""Prompts are short: the shortest keypad path to the queue is under 90 s at 150 words a minute."""

from __future__ import annotations

import re

from ivr.twilio_sim import spoken
from tests.conftest import start_in_english

WORDS_PER_MINUTE = 150
LIMIT_SECONDS = 90
NUMBER_WORDS = {"0": 1, "1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 1, "8": 1, "9": 1}


def spoken_words(text: str) -> int:
    """Words as a voice speaks them: '100' is 'one hundred', 'PCSO' is four letters."""
    count = 0
    for token in re.findall(r"[A-Za-z'’-]+|\d+", text):
        if token.isdigit():
            count += 1 if len(token) == 1 else len(token)  # generous: 100 -> three words
        elif token.isupper() and len(token) > 1:
            count += len(token)  # spelt out
        else:
            count += 1
    return count


def test_word_counting():
    assert spoken_words("Stay anonymous, 1.") == 3
    assert spoken_words("100 per cent") == 5
    assert spoken_words("a PCSO") == 5


def test_shortest_keypad_path_to_the_queue_is_under_90_seconds(new_call):
    call = new_call()
    heard = spoken(start_in_english(call))
    # Fewest prompts: don't know the force, officer, first category, no risk, anonymous.
    for key in ["0", "1", "1", "2", "1"]:
        heard += spoken(call.press(key))
    assert call.twiml.find("Enqueue") is not None
    words = sum(spoken_words(text) for text in heard)
    seconds = words / WORDS_PER_MINUTE * 60
    print(f"shortest keypad path: {words} words, {seconds:.0f} s")
    assert seconds < LIMIT_SECONDS
