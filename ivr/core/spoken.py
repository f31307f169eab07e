"""How long words take to say: the measure behind the helpline's "prompts are short" rule."""

from __future__ import annotations

import re

WORDS_PER_MINUTE = 150
# A voice stops at punctuation: about this long at the end of a sentence or clause
# (. ? ! : ;) and at a comma. Measured against espeak-ng (bench/speech.py), which
# pauses a little longer than Twilio's Polly voices; it keeps the estimate honest.
SENTENCE_PAUSE = 0.2
COMMA_PAUSE = 0.1


def number_words(n: int) -> int:
    """How many words a number takes to say ("100" is "one hundred": 2)."""
    if n < 20:
        return 1
    if n < 100:
        return 1 if n % 10 == 0 else 2
    if n < 1000:
        rest = n % 100
        return 2 + (0 if rest == 0 else 1 + number_words(rest))  # "… and …"
    if n < 1_000_000:
        rest = n % 1000
        joined = 0 if rest == 0 else number_words(rest) + (1 if rest < 100 else 0)  # "and"
        return number_words(n // 1000) + 1 + joined
    return len(str(n))  # a long number is read digit by digit


def spoken_words(text: str) -> int:
    """Words a voice speaks: a number counts as the words it is said in."""
    count = 0
    for token in re.findall(r"\d+|[^\s\d]+", text):
        if token.isdigit():
            count += number_words(int(token))
        elif re.search(r"\w", token):
            count += 1
    return count


def pause_seconds(text: str) -> float:
    """The pauses a voice makes at the punctuation of `text`."""
    ends = len(re.findall(r"[.?!:;]+(?=\s|$)", text))
    return ends * SENTENCE_PAUSE + text.count(",") * COMMA_PAUSE


def seconds_of_speech(words: int, pauses: float = 0.0) -> float:
    return words * 60 / WORDS_PER_MINUTE + pauses
