"""Signed-cookie sessions for the console only.

Twilio's webhooks carry no cookie and must set none, so under their prefix no session is
opened or saved: that is work on every webhook for nothing (a serializer built, the
Cookie header parsed, the session checked for saving).
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from ivr.voice.urls import is_webhook_path


class ConsoleOnlySessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_webhook_path(request.path):
            # Empty, and raises if anything tries to write to it.
            return self.make_null_session(app)
        return super().open_session(app, request)
