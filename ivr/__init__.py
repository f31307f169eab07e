"""The helpline: Twilio voice webhooks, the call flows they run, and the records behind them.

`create_app` reads like Flask's tutorial app: settings, database, blueprints, CLI.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import bad_input
from ivr.cookie_sessions import SessionsByFace
from ivr.core import db, redaction
from ivr.core.private_files import private_folder
from ivr.core.runtime import EXTENSION as CORE
from ivr.core.runtime import Core
from ivr.core.settings import load_settings
from ivr.force_api import replies as force_replies
from ivr.voice.gateway import GATEWAY, make_gateway
from ivr.voice.runtime import EXTENSION as VOICE
from ivr.voice.runtime import Voice, get_voice
from ivr.voice.urls import is_webhook_path


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` overrides settings by name (see ivr/core/settings.py)."""
    settings = load_settings(overrides=test_config)
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.session_interface = SessionsByFace()
    bad_input.install(app)  # before any route: ids within range, no NUL characters
    app.config.update(
        SECRET_KEY=settings.secret_key,
        IVR_SETTINGS=settings,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.is_development,
        # The console's forms; Twilio's webhooks get far less (ivr/voice/door.py). The
        # proxy refuses the same sizes first (deploy/nginx/helpline.conf).
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if settings.trusted_proxies and not settings.public_base_url:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    if settings.instance_dir.exists():
        # Its files (local.toml with the keys, a SQLite database) are ours alone.
        private_folder(settings.instance_dir)
    db.init_app(app, settings.database_url)
    core = Core.build(settings)
    app.extensions[CORE] = core
    app.extensions[VOICE] = Voice.build(core)
    app.extensions[GATEWAY] = make_gateway(settings)

    from handler_console import make_blueprint as make_console_blueprint
    from ivr.online import make_blueprint as make_online_blueprint
    from ivr.voice import handler_leg
    from ivr.voice import webhooks as voice

    app.register_blueprint(voice.make_blueprint())
    app.register_blueprint(handler_leg.make_blueprint())
    app.register_blueprint(make_console_blueprint())
    app.register_blueprint(make_online_blueprint())
    app.register_blueprint(force_replies.make_blueprint())
    app.register_error_handler(HTTPException, _voice_http_error)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    redaction.install("", "gunicorn.error", "gunicorn.access")
    return app


def _voice_http_error(exc: HTTPException) -> Response | HTTPException:
    """Under /voice/ even a 404 or 405 is answered with spoken TwiML, never an error page."""
    # A refused signature or an oversized body is no call of Twilio's: answered plainly.
    if not is_webhook_path(request.path) or exc.code in (403, 413):
        return exc
    runtime = get_voice()
    flow = next(iter(runtime.flows.flows.values()))
    return Response(str(runtime.renderer.render_error(flow)), mimetype="text/xml")
