"""Coming back with a reference and secret code: read the force's questions, answer
them, add information. The code check and the lock are the phone line's too
(ivr/core/followup.py): a wrong reference, a wrong code and a locked reference all
get the same page after the same work.

Signed in means the report's id in this browser's report cookie, for IDLE_MINUTES.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.core import followup
from ivr.core.db import get_session
from ivr.core.rate_limit import take
from ivr.models import Report, ReportMessage
from ivr.online.pages import csrf_failed, t
from ivr.records import followup_messages

CHECK_LIMIT = followup.CHECK_LIMIT  # shared with the phone line
IDLE_MINUTES = 20


def register(bp: Blueprint) -> None:
    bp.add_url_rule(
        "/follow-up", view_func=sign_in, methods=["GET", "POST"], endpoint="followup_sign_in"
    )
    bp.add_url_rule("/follow-up/report", view_func=home, endpoint="followup_home")
    bp.add_url_rule(
        "/follow-up/answer/<int:question_id>",
        view_func=answer,
        methods=["GET", "POST"],
        endpoint="followup_answer",
    )
    bp.add_url_rule(
        "/follow-up/add", view_func=add, methods=["GET", "POST"], endpoint="followup_add"
    )
    bp.add_url_rule("/follow-up/sign-out", view_func=sign_out, methods=["POST"],
                    endpoint="followup_sign_out")  # fmt: skip


def sign_in() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        notice = t("followup.signed_out") if request.args.get("done") else ""
        if request.args.get("timeout"):
            notice = t("followup.timed_out")
        return render_template("online/followup_sign_in.html", notice=notice, error="", typed={})
    typed = {"reference": request.form.get("reference", "")[:40]}
    code = request.form.get("code", "")[:40]
    if csrf_failed():
        return _sign_in_again(typed, notice=t("site.expired")), 400
    if not typed["reference"].strip() or not code.strip():
        return _sign_in_again(typed, error=t("followup.empty")), 400
    db = get_session()
    if not take(db, CHECK_LIMIT):
        return _sign_in_again(typed, notice=t("followup.busy")), 429
    report = followup.check(db, typed["reference"], code, route="online")
    db.commit()
    if report is None:
        return _sign_in_again(typed, error=t("followup.wrong")), 400
    session.pop("draft", None)
    session["followup"] = {"report": report.id, "seen": time.time()}
    return redirect(url_for("online.followup_home"))


def _sign_in_again(typed: dict[str, str], error: str = "", notice: str = "") -> str:
    return render_template("online/followup_sign_in.html", error=error, notice=notice, typed=typed)


def _report() -> Report | Response:
    """The signed-in report, or a redirect to sign in again."""
    signed = session.get("followup")
    if not isinstance(signed, dict) or "report" not in signed:
        return redirect(url_for("online.followup_sign_in"))
    if time.time() - float(signed.get("seen", 0)) > IDLE_MINUTES * 60:
        session.pop("followup", None)
        return redirect(url_for("online.followup_sign_in", timeout="1"))
    report = get_session().get(Report, signed["report"])
    if report is None:
        session.pop("followup", None)
        return redirect(url_for("online.followup_sign_in"))
    session["followup"] = {"report": report.id, "seen": time.time()}
    return report


def home() -> Response | str:
    report = _report()
    if isinstance(report, Response):
        return report
    notice = t("followup.thanks") if request.args.get("sent") else ""
    found = followup_messages.messages(get_session(), report)
    return render_template(
        "online/followup_home.html",
        reference=report.reference,
        questions=[m for m in found if m.kind == "question"],
        mine=[m for m in found if m.kind != "question"],
        notice=notice,
    )


def answer(question_id: int) -> Response | str | tuple[str, int]:
    report = _report()
    if isinstance(report, Response):
        return report
    question = get_session().scalar(
        select(ReportMessage).where(
            ReportMessage.id == question_id,
            ReportMessage.report_id == report.id,
            ReportMessage.kind == "question",
        )
    )
    if question is None:
        abort(404)
    if question.status != "open":
        return redirect(url_for("online.followup_home"))
    return _write(report, question, t("followup.answer_title"))


def add() -> Response | str | tuple[str, int]:
    report = _report()
    if isinstance(report, Response):
        return report
    return _write(report, None, t("followup.add_title"))


def _write(
    report: Report, question: ReportMessage | None, title: str
) -> Response | str | tuple[str, int]:
    page: dict[str, Any] = {"title": title, "question": question, "text": "", "error": "",
                            "warnings": [], "notice": ""}  # fmt: skip
    if request.method == "GET":
        return render_template("online/followup_write.html", **page)
    text = request.form.get("text", "").replace("\r\n", "\n")
    page["text"] = text
    if csrf_failed():
        return render_template(
            "online/followup_write.html", **{**page, "notice": t("site.expired")}
        ), 400
    if not text.strip():
        return render_template(
            "online/followup_write.html", **{**page, "error": t("followup.text_error")}
        ), 400
    if len(text) > followup_messages.MAX_TEXT:
        return render_template(
            "online/followup_write.html", **{**page, "error": t("followup.too_long")}
        ), 400
    if report.anonymous and request.form.get("confirmed") != "1":
        from ivr.records.pii import find_in_text

        warnings = [
            t("check.pii_item", question=title, kind=t(f"check.pii_{f.kind}"), text=f.text)
            for f in find_in_text(text, "text")
        ]
        if warnings:
            return render_template("online/followup_write.html", **{**page, "warnings": warnings})
    db = get_session()
    followup_messages.from_reporter(db, report, text, question, route="online")
    db.commit()
    return redirect(url_for("online.followup_home", sent="1"))


def sign_out() -> Response:
    session.pop("followup", None)
    return redirect(url_for("online.followup_sign_in", done="1"))
