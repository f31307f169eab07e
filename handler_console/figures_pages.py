"""Supervisors and admins: the line's figures over a chosen period, as charts
(server-drawn SVG, handler_console/charts.py), tables and a CSV download."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from handler_console.access import allowed
from handler_console.charts import bar_chart, funnel_chart
from handler_console.clock import uk_today
from handler_console.staff_filters import FiguresForm, category_choices, step_label, step_order
from handler_console.words import LANGUAGES
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.insight.calls_over_time import OverTime, calls_over_time
from ivr.insight.figures import (
    FORCE_OUTCOMES,
    Figures,
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
    today = uk_today(utcnow())
    period = form.period(today)
    first, last = form.days(today)
    line = form.line.data or None
    result = figures(db, period, line=line, step_order=step_order())
    over = calls_over_time(db, period.start, period.end, line)
    if line:
        announced = announcement_figures(db, period, force=form.force.data or None)
    else:  # the same period and every line: the calls are counted already
        announced = announcement_figures(db, period, force=form.force.data or None, counted=result)
    csv_args: dict[str, Any] = {
        k: v for k, v in request.args.items() if k in ("since", "until", "line", "force")
    }
    csv_args.update(since=first.isoformat(), until=last.isoformat())
    by_week = (last - first).days > 62
    return render_template(
        "console/figures.html",
        form=form,
        result=result,
        days=(first, last),
        over=over,
        by_week=by_week,
        announced=announced,
        force_name=get_core().forces.name(form.force.data) if form.force.data else None,
        charts={**_charts(result), **_time_charts(over, by_week)},
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
    today = uk_today(utcnow())
    period = form.period(today)
    first, last = form.days(today)
    line = form.line.data or None
    force = form.force.data or None
    result = figures(db, period, line=line, step_order=step_order())
    body = csv_text(result, (first, last)) + _extra_csv(
        announcement_figures(db, period, force=force),
        calls_over_time(db, period.start, period.end, line),
        force,
    )
    # An export leaves the system, so it is audited; it holds aggregate counts only
    # (no report, caller or identifier), so the entry records the period, not the data.
    audit(
        db,
        current_user.record,
        "export",
        "figures",
        None,
        detail={"since": str(first), "until": str(last), "line": line, "force": force},
    )
    db.commit()
    name = f"helpline-figures-{first}-{last}.csv"
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
        ("Line closed", result.closed),
        ("Nobody free to answer", result.no_handler),
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


def _time_charts(over: OverTime, by_week: bool) -> dict[str, str]:
    if by_week:
        series = [(f"w/c {day:%-d %b}", n) for day, n in over.by_week]
        title = "Calls by week (weeks starting Monday, UK days)"
    else:
        series = [(f"{day:%a %-d %b}", n) for day, n in over.by_day]
        title = "Calls by day (UK days)"
    languages = [(LANGUAGES.get(code, code), n) for code, n in sorted(over.by_language.items())]
    return {
        "over_time": bar_chart(title, series),
        "languages": bar_chart("Calls by language", languages),
    }


def _extra_csv(announced: Any, over: OverTime, force: str | None) -> str:
    """The announcement's table, calls per UK day and per week, and per language."""
    out = io.StringIO()
    writer = csv.writer(out)
    who = force or "all forces"
    for key in ANNOUNCED:
        writer.writerow([f"announcement:{key}", who, getattr(announced, key)])
    for day, count in over.by_day:
        writer.writerow(["calls_by_day", day.isoformat(), count])
    for monday, count in over.by_week:
        writer.writerow(["calls_by_week", monday.isoformat(), count])
    for code, count in sorted(over.by_language.items()):
        writer.writerow(["calls_by_language", LANGUAGES.get(code, code), count])
    return out.getvalue()


ANNOUNCED = (
    "calls",
    "online_reports",
    "intelligence_passed",
    "investigations",
    "passed_to_other_forces",
)


def _errors(form: FiguresForm) -> list[str]:
    return [error for errors in form.errors.values() for error in errors]
