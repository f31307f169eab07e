"""Marking what could identify a caller, in place, in a report's text (for the review page).

Findings may overlap ("my" beside a postcode): each character takes the kinds of
every finding over it, and runs of characters with the same kinds become one <mark>.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ivr.records.pii import Finding

KIND_LABELS = {
    "phone": "phone number",
    "email": "e-mail address",
    "postcode": "postcode",
    "first_person": "first person",
}
# The class of a mark is its most serious kind: what blocks approval first.
SEVERITY = ("phone", "email", "postcode", "first_person")
MARK = Markup('<mark class="pii pii-{}" title="{}">{}</mark>')


def highlight(text: str, findings: list[Finding]) -> Markup:
    """The text, escaped, with each finding wrapped in <mark class="pii pii-KIND">."""
    kinds: list[frozenset[str]] = [frozenset()] * len(text)
    for finding in findings:
        for i in range(max(finding.start, 0), min(finding.end, len(text))):
            kinds[i] = kinds[i] | {finding.kind}
    out: list[Markup] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i < len(text) and kinds[i] == kinds[start]:
            continue
        piece = text[start:i]
        if kinds[start]:
            ordered = [k for k in SEVERITY if k in kinds[start]]
            title = ", ".join(KIND_LABELS[k] for k in ordered)
            out.append(MARK.format(ordered[0], title, piece))  # format() escapes each value
        else:
            out.append(escape(piece))
        start = i
    return Markup("").join(out)


def by_field(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.field, []).append(finding)
    return grouped
