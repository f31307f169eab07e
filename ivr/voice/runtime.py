"""What the voice face builds once at start-up: the call flows, what moves a call through
them and what renders its TwiML, and Twilio's signature check. Shared read-only by every
webhook."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from twilio.request_validator import RequestValidator

from ivr.core.runtime import Core
from ivr.core.settings import Settings
from ivr.voice.flows.catalogue import FlowCatalogue
from ivr.voice.flows.moves import FlowMoves
from ivr.voice.flows.render import Renderer, RenderSettings

EXTENSION = "ivr.voice"


@dataclass(frozen=True)
class Voice:
    settings: Settings
    flows: FlowCatalogue
    moves: FlowMoves
    renderer: Renderer
    validator: RequestValidator

    @classmethod
    def build(cls, core: Core) -> Voice:
        settings = core.settings
        renderer = Renderer(
            core.forces,
            core.cipher,
            RenderSettings(
                gather_timeout=settings.gather_timeout_seconds,
                online_report_url=settings.online_report_url,
                queue_pause_seconds=settings.queue_pause_seconds,
                queue_offer_after_seconds=settings.queue_offer_after_seconds,
            ),
        )
        return cls(
            settings=settings,
            flows=FlowCatalogue.load(settings.flows_dir),
            moves=FlowMoves(core.forces, core.cipher, max_tries=settings.max_tries),
            renderer=renderer,
            validator=RequestValidator(settings.twilio_auth_token),
        )


def get_voice(app: Flask | None = None) -> Voice:
    return (app or current_app).extensions[EXTENSION]
