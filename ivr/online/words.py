"""The online report's words, English and Welsh (words/en.toml, words/cy.toml).

Pages ask `t("q.what.title")`; a missing key is a defect the tests catch (both files
must have the same keys), so `t` raises rather than showing a key to a reporter.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "cy")
WORDS_DIR = Path(__file__).resolve().parent / "words"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@cache
def catalogue(language: str) -> dict[str, str]:
    with (WORDS_DIR / f"{language}.toml").open("rb") as fh:
        return _flatten(tomllib.load(fh))


def translate(language: str, key: str, **values: Any) -> str:
    text = catalogue(language if language in LANGUAGES else "en")[key]
    return text.format(**values) if values else text
