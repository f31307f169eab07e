"""The reporter's face on the web: the online report and the follow-up by reference.

Public and anonymous by design: its own URL prefix and its own session cookie (see
ivr/cookie_sessions.py), no script or font from anywhere else, nothing about the
reporter's connection stored or logged. Uses core, models and records only.
"""

from __future__ import annotations

from flask import Blueprint

URL_PREFIX = "/report"
COOKIE_NAME = "helpline_report"


def is_online_path(path: str) -> bool:
    return path == URL_PREFIX or path.startswith(URL_PREFIX + "/")


def make_blueprint() -> Blueprint:
    from ivr.online import followup_pages, pages

    bp = Blueprint(
        "online",
        __name__,
        url_prefix=URL_PREFIX,
        template_folder="templates",
        static_folder="static",
    )
    pages.register(bp)
    followup_pages.register(bp)
    return bp
