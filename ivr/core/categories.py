"""The categories of conduct the line covers (config/categories.toml), read once per folder."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    wording: str


@lru_cache(maxsize=8)
def load_categories(config_dir: Path) -> dict[str, Category]:
    """config/categories.toml: the five official categories and "other", in order."""
    with (config_dir / "categories.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {
        key: Category(key, value["label"], value["wording"])
        for key, value in data["categories"].items()
    }
