"""What the app builds once at start-up and every part shares, read-only: the settings,
the force list, where each force's reports go, and the contact numbers' cipher."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from ivr.core.contact import ContactCipher
from ivr.core.forces import ForceCatalogue
from ivr.core.routing import Routes
from ivr.core.settings import Settings

EXTENSION = "ivr.core"


@dataclass(frozen=True)
class Core:
    settings: Settings
    forces: ForceCatalogue
    routes: Routes
    cipher: ContactCipher

    @classmethod
    def build(cls, settings: Settings) -> Core:
        forces = ForceCatalogue.load(settings.config_dir / "forces.toml")
        return cls(
            settings=settings,
            forces=forces,
            routes=Routes.load(settings, forces),
            cipher=ContactCipher(settings.contact_key),
        )


def get_core(app: Flask | None = None) -> Core:
    return (app or current_app).extensions[EXTENSION]
