"""Which cookie session each face gets.

- Twilio's webhooks carry no cookie and must set none: under their prefix no session
  is opened or saved (that is work on every webhook for nothing).
- The online report (ivr/online, under /report) has a cookie of its own, named and
  scoped apart from the console's: a reporter's browser never holds a staff session's
  cookie and a staff browser's console cookie is never sent to the public pages.
- Everything else (the console) keeps Flask's default cookie.
"""

from __future__ import annotations

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from ivr.online import COOKIE_NAME, URL_PREFIX, is_online_path
from ivr.voice.urls import is_webhook_path


class SessionsByFace(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_webhook_path(request.path):
            # Empty, and raises if anything tries to write to it.
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if has_request_context() and is_webhook_path(request.path):
            return
        super().save_session(app, session, response)

    def get_cookie_name(self, app: Flask) -> str:
        if has_request_context() and is_online_path(request.path):
            return COOKIE_NAME
        return super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        if has_request_context() and is_online_path(request.path):
            return URL_PREFIX
        return super().get_cookie_path(app)
