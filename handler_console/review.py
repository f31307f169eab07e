"""Supervisors: the reports waiting for review (approval and dissemination come later)."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from handler_console.access import roles
from ivr.db import get_session
from ivr.models import Report


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/review", view_func=review, methods=["GET"])


@roles("supervisor")
def review() -> str:
    waiting = get_session().scalars(
        select(Report)
        .where(Report.status == "submitted")
        .order_by(Report.urgent.desc(), Report.submitted_at.asc())
        .limit(200)
    )
    return render_template("console/review.html", reports=list(waiting))
