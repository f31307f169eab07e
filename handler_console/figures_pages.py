"""Supervisors and admins: the line's figures over a chosen period, as charts
(server-drawn SVG, handler_console/charts.py), tables and a CSV download."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from handler_console.access import allowed
from handler_console.charts import bar_chart, funnel_chart
from handler_console.staff_filters import FiguresForm, category_choices, step_label, step_order
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.insight.figures import (
    FORCE_OUTCOMES,
    Figures,
    Period,
    announcement_figures,
    figures,
)
from ivr.insight.figures_csv import csv_text
from ivr.models import utcnow


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/figures", view_func=figures_page, methods=["GET"])
    bp.add_url_rule("/figures.csv", view_func=figures_csv, methods=["GET"])


@allowed(Action.SEE_FIGURES)
def figures_page() -> str | tuple[str, int]:
    form = FiguresForm(formdata=request.args)
    if not form.validate():
        return render_template("console/figures.html", form=form, result=None), 400
    db = get_session()
    period = form.period(utcnow().date())
    line = form.line.data or None
    result = figures(db, period, line=line, step_order=step_order())
    if line:
        announced = announcement_figures(db, period, force=form.force.data or None)
    else:  # the same period and every line: the calls are counted already
        announced = announcement_figures(db, period, force=form.force.data or None, counted=result)
    csv_args = {k: v for k, v in request.args.items() if k in ("since", "until", "line")}
    csv_args.update(since=period.start.date().isoformat(), until=_last_day(period))
    return render_template(
        "console/figures.html",
        form=form,
        result=result,
        announced=announced,
        force_name=get_core().forces.name(form.force.data) if form.force.data else None,
        charts=_charts(result),
        csv_url=url_for("console.figures_csv", **csv_args),
        force_outcomes=FORCE_OUTCOMES,
        names=get_core().forces.name,
        categories=dict(category_choices()),
    )


@allowed(Action.SEE_FIGURES)
def figures_csv() -> Response | tuple[str, int]:
    form = FiguresForm(formdata=request.args)
    if not form.validate():
        return "Check the dates: " + "; ".join(_errors(form)), 400
    db = get_session()
    period = form.period(utcnow().date())
    line = form.line.data or None
    body = csv_text(figures(db, period, line=line, step_order=step_order()))
    # An export leaves the system, so it is audited; it holds aggregate counts only
    # (no report, caller or identifier), so the entry records the period, not the data.
    audit(
        db,
        current_user.record,
        "export",
        "figures",
        None,
        detail={"since": str(period.start.date()), "until": _last_day(period), "line": line},
    )
    db.commit()
    name = f"helpline-figures-{period.start.date()}-{_last_day(period)}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _charts(result: Figures) -> dict[str, str]:
    names = get_core().forces.name
    categories = dict(category_choices())
    outcomes = [
        ("Answered", result.answered),
        ("Hung up in the flow", result.abandoned),
        ("Left the queue", result.left_queue),
        ("Left to report online", result.left_for_online),
        ("Failed", result.failed),
        ("Not ended yet", result.in_progress),
    ]
    by_force = sorted(result.passed_by_force.items(), key=lambda item: -item[1])
    by_category = sorted(result.passed_by_category.items(), key=lambda item: -item[1])
    return {
        "outcomes": bar_chart("Calls by outcome", outcomes),
        "funnel": funnel_chart(
            "Callers reaching each step, and where they hung up",
            [(step_label(s.step), s.reached, s.hung_up) for s in result.funnel],
        ),
        "by_force": bar_chart(
            "Intelligence passed, by force", [(names(f), n) for f, n in by_force]
        ),
        "by_category": bar_chart(
            "Intelligence passed, by category",
            [(categories.get(c, c), n) for c, n in by_category],
        ),
    }


def _last_day(period: Period) -> str:
    return str((period.end - timedelta(days=1)).date())


def _errors(form: FiguresForm) -> list[str]:
    return [error for errors in form.errors.values() for error in errors]
