"""The staff console: call handlers, supervisors and admins (SecureDrop's journalist_app)."""

from __future__ import annotations

from flask import Blueprint


def make_blueprint() -> Blueprint:
    bp = Blueprint(
        "console",
        __name__,
        url_prefix="/console",
        template_folder="templates",
        static_folder="static",
    )
    return bp
