"""The figures as CSV (the console's download): aggregate counts only, never a call or report."""

from __future__ import annotations

import csv
import io
from datetime import date

from ivr.insight.figures import Figures


def csv_text(result: Figures, days: tuple[date, date] | None = None) -> str:
    """Every figure as CSV rows: figure, breakdown, value. Aggregate counts only. The
    period row names `days` when given (the UK days the console chose, both included):
    the period's own dates are UTC's, a day early for UK days that start in summer."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "breakdown", "value"])
    period = f"{days[0].isoformat()} to {days[1].isoformat()}" if days else str(result.period)
    writer.writerow(["period", "", period])
    for name in (
        "calls",
        "answered",
        "abandoned",
        "left_queue",
        "left_for_online",
        "failed",
        "closed",
        "no_handler",
        "in_progress",
        "online_reports",
        "call_reports",
        "reports_approved",
        "intelligence_passed",
    ):
        writer.writerow([name, "", getattr(result, name)])
    for label, waiting in (
        ("waiting_seconds_all", result.waiting_all),
        ("waiting_seconds_answered", result.waiting_answered),
    ):
        writer.writerow([label, "count", waiting.count])
        writer.writerow([label, "median", "" if waiting.median is None else waiting.median])
        writer.writerow([label, "p90", "" if waiting.p90 is None else waiting.p90])
    for label, table in (
        ("abandoned_at_step", result.abandoned_by_step),
        ("passed_by_force", result.passed_by_force),
        ("passed_by_category", result.passed_by_category),
        ("awaiting_by_force", result.awaiting_by_force),
        ("force_outcome", result.force_outcomes),
    ):
        for key, value in sorted(table.items()):
            writer.writerow([label, key, value])
    for step in result.funnel:
        writer.writerow(["funnel_reached", step.step, step.reached])
        writer.writerow(["funnel_hung_up", step.step, step.hung_up])
    return out.getvalue()
