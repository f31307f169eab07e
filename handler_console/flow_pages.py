"""See a call flow: each line's diagram (ivr/voice/flows/diagram.py), in each of its languages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from handler_console.access import allowed
from ivr.core.permissions import Action
from ivr.voice.flows.diagram import flow_svg
from ivr.voice.runtime import get_voice


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/flows", view_func=flows, methods=["GET"])


@allowed(Action.SEE_FLOWS)
def flows() -> str:
    catalogue = get_voice().flows.flows
    line = request.args.get("line") or next(iter(catalogue))
    flow = catalogue.get(line)
    if flow is None:
        abort(404)
    language = request.args.get("language") or flow.languages[0]
    if language not in flow.languages:
        abort(404)
    # Markup: the SVG is drawn by our own code, which escapes every word it writes
    # (flow_diagram.py); `embedded` leaves out the <style> a strict CSP refuses.
    diagram = Markup(flow_svg(flow, language, embedded=True))  # noqa: S704
    return render_template(
        "console/flows.html",
        catalogue=catalogue,
        flow=flow,
        language=language,
        diagram=diagram,
    )
