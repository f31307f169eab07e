"""What the app builds once at start-up and every request shares (read-only)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from twilio.request_validator import RequestValidator

from ivr.contact import ContactCipher
from ivr.engine import Engine, EngineSettings
from ivr.flows import FlowCatalogue
from ivr.forces import ForceCatalogue
from ivr.routing import Routes
from ivr.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    flows: FlowCatalogue
    forces: ForceCatalogue
    routes: Routes
    engine: Engine
    cipher: ContactCipher
    validator: RequestValidator

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        forces = ForceCatalogue.load(settings.config_dir / "forces.toml")
        cipher = ContactCipher(settings.contact_key)
        engine = Engine(
            forces,
            cipher,
            EngineSettings(
                max_tries=settings.max_tries,
                gather_timeout=settings.gather_timeout_seconds,
                online_report_url=settings.online_report_url,
                queue_pause_seconds=settings.queue_pause_seconds,
                queue_offer_after_seconds=settings.queue_offer_after_seconds,
            ),
        )
        return cls(
            settings=settings,
            flows=FlowCatalogue.load(settings.flows_dir),
            forces=forces,
            routes=Routes.load(settings, forces),
            engine=engine,
            cipher=cipher,
            validator=RequestValidator(settings.twilio_auth_token),
        )


def get_runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["ivr.runtime"]
