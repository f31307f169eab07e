"""What could identify an anonymous caller, shown to the handler as they type and on a
report returned to them: the same findings and marks the supervisor's review shows
(ivr/records/pii.py, handler_console/highlight.py), so nobody learns the rules only
at approval.

The check reads the text as typed (POSTed by static/report.js a moment after the
handler stops typing) and stores nothing: it answers an HTML fragment for the page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from handler_console.access import allowed
from handler_console.highlight import KIND_LABELS, by_field, highlight
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.models import Report
from ivr.records import pii

MAX_CHECKED = 40_000  # characters per field: more than a field holds


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/reports/<reference>/check", view_func=check, methods=["POST"])


def texts_of_report(report: Report) -> dict[str, str]:
    texts = {name: getattr(report, name) or "" for name in pii.REPORT_FIELDS}
    for index, subject in enumerate(report.subjects):
        for name in pii.SUBJECT_FIELDS:
            texts[f"subjects[{index}].{name}"] = getattr(subject, name) or ""
    return texts


def texts_of_form(form: Any) -> dict[str, str]:
    """The report's free text as posted ("subjects-0-name" is "subjects[0].name")."""
    texts = {name: str(form.get(name, ""))[:MAX_CHECKED] for name in pii.REPORT_FIELDS}
    for index in range(50):
        if f"subjects-{index}-name" not in form and f"subjects-{index}-rank" not in form:
            break
        for name in pii.SUBJECT_FIELDS:
            texts[f"subjects[{index}].{name}"] = str(form.get(f"subjects-{index}-{name}", ""))[
                :MAX_CHECKED
            ]
    return texts


def findings_context(texts: dict[str, str], anonymous: bool) -> dict[str, Any]:
    findings = [f for field, text in texts.items() for f in pii.find_in_text(text, field)]
    marked = by_field(findings)
    return {
        "pii_findings": findings,
        "pii_fields": [
            (field, pii.field_words(field), highlight(texts[field], marked[field]))
            for field in texts
            if field in marked
        ],
        "pii_anonymous": anonymous,
        "kind_labels": KIND_LABELS,
    }


@allowed(Action.WRITE_REPORTS)
def check(reference: str) -> str:
    found = get_session().scalar(select(Report).where(Report.reference == reference))
    if found is None or found.created_by_id != current_user.record.id:
        abort(404)
    context = findings_context(texts_of_form(request.form), bool(found.anonymous))
    return render_template("console/_pii_check.html", **context)
