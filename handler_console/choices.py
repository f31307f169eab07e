"""Choices for WTForms select and radio fields, in the form the installed WTForms wants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice.
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choices(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]
