"""The UK force list (config/forces.toml) and matching a spoken force name to it."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ivr.core.settings import SettingsError


@dataclass(frozen=True)
class Force:
    id: str
    name: str
    name_cy: str  # its Welsh name, for the Welsh pages (the phone says shorter names)
    nation: str
    kind: str
    region: str
    aliases: tuple[str, ...]
    destination: str


# Words that say nothing about which force was meant.
_FILLER = {
    "the", "police", "polis", "constabulary", "service", "force", "of", "and", "in", "heddlu",
    "i", "think", "it", "its", "was", "um", "er", "erm", "uh", "please",
}  # fmt: skip


def _normalise(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("&", " and ")).split()
    return " ".join(w for w in words if w not in _FILLER)


class ForceCatalogue:
    def __init__(self, forces: dict[str, Force], regions: dict[str, str]) -> None:
        self.forces = forces
        self.regions = regions
        # every way of saying each force, normalised -> force id
        self._spoken: dict[str, str] = {}
        for force in forces.values():
            for phrase in (force.name, *force.aliases):
                key = _normalise(phrase)
                if key:
                    self._spoken.setdefault(key, force.id)

    @classmethod
    def load(cls, path: Path) -> ForceCatalogue:
        """The list in `path`; SettingsError (one line) if it cannot be read."""
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise SettingsError(
                f"the force list {path} cannot be read (IVR_CONFIG_DIR): {exc.strerror}"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"the force list {path} is not valid TOML: {exc}") from None
        try:
            regions = {key: value["name"] for key, value in data.get("regions", {}).items()}
            forces = {
                key: Force(
                    id=key,
                    name=value["name"],
                    name_cy=value["name_cy"],
                    nation=value["nation"],
                    kind=value["kind"],
                    region=value["region"],
                    aliases=tuple(value.get("aliases", ())),
                    destination=value["destination"],
                )
                for key, value in data["forces"].items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            # Which entry lacks what: the first key the list is missing, or a wrong shape.
            what = f"lacks {exc}" if isinstance(exc, KeyError) else f"is not shaped right ({exc})"
            raise SettingsError(f"the force list {path} {what}: see docs/forces.md") from None
        return cls(forces, regions)

    def name(self, force_id: str | None) -> str:
        force = self.forces.get(force_id or "")
        return force.name if force else "Unknown force"

    def speech_hints(self) -> list[str]:
        """Phrases for Twilio's speech recogniser: names and aliases."""
        phrases: list[str] = []
        for force in self.forces.values():
            for phrase in (force.name, *force.aliases):
                if phrase not in phrases:
                    phrases.append(phrase)
        return phrases

    def match(self, spoken: str) -> str | None:
        """The force a caller most likely named, or None when no match is close enough."""
        said = _normalise(spoken)
        if not said:
            return None
        if said in self._spoken:
            return self._spoken[said]
        # A known phrase inside a longer sentence ("it was the west mids lot").
        padded = f" {said} "
        inside = [key for key in self._spoken if f" {key} " in padded]
        if inside:
            return self._spoken[max(inside, key=len)]
        # Tolerate mishearing, but not ambiguity: "Yorkshire" is close to three forces.
        scored = sorted(
            ((difflib.SequenceMatcher(None, said, key).ratio(), key) for key in self._spoken),
            reverse=True,
        )
        best_score, best_key = scored[0]
        if best_score < 0.75:
            return None
        for score, key in scored[1:]:
            if best_score - score > 0.08:
                break
            if self._spoken[key] != self._spoken[best_key]:
                return None
        return self._spoken[best_key]
