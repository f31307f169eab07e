"""The online report's pages: the start page (the anonymity promise and 999 advice),
one question a page, the check-your-answers page with the PII warning, and the page
that shows the reference and follow-up code once.

Every answer is saved (encrypted, ivr/records/online_report.py) as soon as it is
posted, errors and all, so a reload, an error or a lost page keeps what was typed.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.followup import spaced
from ivr.core.rate_limit import Limit, take
from ivr.core.runtime import get_core
from ivr.online import questions
from ivr.online.words import LANGUAGES, catalogue, translate
from ivr.records.online_report import (
    create_online_report,
    delete_draft,
    identifying_findings,
    load_draft,
    save_draft,
)

# Shared by every app server (a row each in rate_buckets): no IP address is kept.
SUBMIT_LIMIT = Limit("online-submit", capacity=30, per_minute=30)
NEW_DRAFT_LIMIT = Limit("online-new-draft", capacity=300, per_minute=300)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def register(bp: Blueprint) -> None:
    bp.before_request(_before)
    bp.after_request(security_headers)
    bp.app_template_global("online_t")(t)
    bp.app_template_filter("spaced_code")(spaced)
    bp.context_processor(_context)
    bp.add_url_rule("/", view_func=start, methods=["GET"])
    bp.add_url_rule("/q/<slug>", view_func=question, methods=["GET", "POST"])
    bp.add_url_rule("/check", view_func=check, methods=["GET", "POST"])


def language() -> str:
    chosen = session.get("lang", "en")
    return chosen if chosen in LANGUAGES else "en"


def t(key: str, **values: Any) -> str:
    return translate(language(), key, **values)


def _before() -> Response | None:
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and wanted != session.get("lang"):
        session["lang"] = wanted
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            request.csrf_expired = True  # type: ignore[attr-defined]
    return None


def csrf_failed() -> bool:
    return bool(getattr(request, "csrf_expired", False))


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    # Nothing a reporter typed stays in a shared computer's cache or history pages.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


def _context() -> dict[str, Any]:
    lang = language()
    other = "cy" if lang == "en" else "en"
    args = {**request.view_args} if request.view_args else {}
    switch = url_for(request.endpoint or "online.start", **args, lang=other)
    return {
        "lang": lang,
        "switch_language_url": switch,
        "csrf_token": generate_csrf,
        "online_words": catalogue(lang),
        "has_followup": "online.followup_sign_in" in current_app.view_functions,
    }


def _answers() -> dict[str, Any]:
    return load_draft(get_session(), session.get("draft"), get_core().cipher)


def _save(answers: dict[str, Any]) -> bool:
    """Save the answers under this browser's draft token; False if refused (busy)."""
    db = get_session()
    token = session.get("draft")
    if not token:
        if not take(db, NEW_DRAFT_LIMIT):
            return False
        token = secrets.token_urlsafe(32)
        session["draft"] = token
    save_draft(db, token, answers, get_core().cipher)
    db.commit()
    return True


def choices_for(item: questions.Field) -> list[tuple[str, str]]:
    lang = language()
    core = get_core()
    if item.choices == "yes_no":
        return [("yes", t("choice.yes")), ("no", t("choice.no"))]
    if item.choices == "anonymous":
        return [("yes", t("q.anonymous.yes")), ("no", t("q.anonymous.no"))]
    if item.choices == "roles":
        pairs = [(key, t(f"q.role.{key}")) for key in ("officer", "staff", "volunteer")]
        return [*pairs, ("unknown", t("choice.dont_know"))]
    if item.choices == "how_known":
        return [(key, t(f"q.how_known.{key}")) for key in ("saw", "told", "affected")]
    if item.choices == "categories":
        return [(key, t(f"category.{key}")) for key in load_categories(core.settings.config_dir)]
    if item.choices == "forces":
        forces = core.forces.forces.values()
        names = [(f.id, f.name_cy if lang == "cy" else f.name) for f in forces]
        return [*sorted(names, key=lambda pair: pair[1]), ("unknown", t("choice.dont_know"))]
    raise KeyError(item.choices)


def _allowed(item: questions.Field) -> set[str]:
    return {value for value, _ in choices_for(item)}


def start() -> str:
    return render_template("online/start.html")


def question(slug: str) -> Response | str | tuple[str, int]:
    page = questions.BY_SLUG.get(slug)
    if page is None:
        abort(404)
    answers = _answers()
    if not page.shown(answers):
        return redirect(url_for("online.question", slug=questions.QUESTIONS[0].slug))
    changing = request.args.get("change") == "1"
    if request.method == "GET":
        return _render_question(page, answers, {}, changing)
    typed = questions.read_form(page, request.form, _allowed)
    if csrf_failed():
        # Not acted on, and not lost: the page comes back with what was typed.
        return _render_question(page, {**answers, **typed}, {}, changing, t("site.expired")), 400
    answers.update(typed)
    if not _save(answers):
        return _render_question(page, answers, {}, changing, t("site.busy")), 429
    problems = page.check(answers)
    if problems:
        return _render_question(page, answers, problems, changing), 400
    following = questions.after(slug, answers)
    if changing or following is None:
        # A change can make a new question appear (anonymous "no" -> contact details).
        missing = questions.first_unanswered(answers)
        if missing is not None and missing.slug != slug:
            return redirect(url_for("online.question", slug=missing.slug, change="1"))
        return redirect(url_for("online.check"))
    return redirect(url_for("online.question", slug=following.slug))


def _field_view(
    item: questions.Field, answers: dict[str, Any], problems: dict[str, str]
) -> dict[str, Any]:
    """One field of a question page; its error says the field's limit when over it."""
    limit = f"{item.max_length:,}"
    return {
        "spec": item,
        "value": answers.get(item.name, [] if item.kind == "checkboxes" else ""),
        "choices": choices_for(item) if item.choices else [],
        "error": t(problems[item.name], limit=limit) if item.name in problems else "",
        "summary": {
            "id": item.name,
            "message": t(problems.get(item.name, "site.error_title"), limit=limit),
        },
    }


def _render_question(
    page: questions.Question,
    answers: dict[str, Any],
    problems: dict[str, str],
    changing: bool,
    notice: str = "",
) -> str:
    previous = questions.before(page.slug, answers)
    if changing:
        back = url_for("online.check")
    elif previous is None:
        back = url_for("online.start")
    else:
        back = url_for("online.question", slug=previous.slug)
    fields = [_field_view(item, answers, problems) for item in page.fields]
    return render_template(
        "online/question.html",
        page=page,
        fields=fields,
        back=back,
        notice=notice,
        action=url_for("online.question", slug=page.slug, change="1" if changing else None),
        risk_advice=page.slug == "risk_now" or answers.get("risk_now") == "yes",
    )


def _summary(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The check page's rows: each shown question, its answer in words, its change link."""
    rows = []
    for page in questions.shown(answers):
        shown_values: list[str] = []
        for item in page.fields:
            value = answers.get(item.name)
            if item.choices:
                labels = dict(choices_for(item))
                values = value if isinstance(value, list) else [value]
                shown_values.extend(labels[v] for v in values if v in labels)
            elif value:
                label = t(item.label) + ": " if item.label else ""
                shown_values.append(label + str(value))
        rows.append(
            {
                "question": t(f"{page.words}.title"),
                "values": shown_values,
                "change": url_for("online.question", slug=page.slug, change="1"),
                "slug": page.slug,
            }
        )
    return rows


def check() -> Response | str | tuple[str, int]:
    answers = _answers()
    missing = questions.first_unanswered(answers)
    if missing is not None:
        return redirect(url_for("online.question", slug=missing.slug))
    if request.method == "GET":
        return _render_check(answers)
    if csrf_failed():
        return _render_check(answers, t("site.expired")), 400
    db = get_session()
    if not take(db, SUBMIT_LIMIT):
        return _render_check(answers, t("site.busy")), 429
    core = get_core()
    report, code = create_online_report(
        db, answers, core.cipher, core.forces, load_categories(core.settings.config_dir)
    )
    delete_draft(db, session.pop("draft", ""))
    db.commit()
    # Shown in this answer only: the code is nowhere in the clear after it is sent.
    return render_template(
        "online/done.html",
        reference=report.reference,
        keypad=report.keypad_reference,
        code=code,
    )


def _render_check(answers: dict[str, Any], notice: str = "") -> str:
    findings = identifying_findings(answers) if answers.get("anonymous") != "no" else []
    slugs = {item.name: page.slug for page in questions.QUESTIONS for item in page.fields}
    warnings = [
        {
            "text": t(
                "check.pii_item",
                question=t(f"q.{slugs[f.field]}.title"),
                kind=t(f"check.pii_{f.kind}"),
                text=f.text,
            ),
            "change": url_for("online.question", slug=slugs[f.field], change="1"),
        }
        for f in findings
    ]
    return render_template(
        "online/check.html", rows=_summary(answers), warnings=warnings, notice=notice
    )
