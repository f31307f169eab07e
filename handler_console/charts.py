"""Charts for the figures page, drawn on the server as SVG strings.

No script and no style attributes: the console's Content-Security-Policy allows
neither inline styles nor scripts from elsewhere, and SVG presentation
attributes (fill, font-size…) are not styles. Every label is escaped; every
chart has a title and an aria-label so that it reads as an image with a name,
and the same numbers are in the table beside it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

BAR = "#2b6cb0"
HUNG_UP = "#c05621"
TEXT = "#1a202c"
MUTED = "#4a5568"
ROW = 22
BARS_WIDTH = 360
# Generous widths per character of 12 px sans-serif, so that no label is clipped:
# the drawing is as wide as its longest label and value need (it scales down to fit).
CHAR = 7.2
DIGIT = 7.5


def _label_width(labels: list[str]) -> float:
    return max((len(label) for label in labels), default=10) * CHAR + 12


def _value_width(values: list[str]) -> float:
    return max((len(value) for value in values), default=4) * DIGIT + 12


def bar_chart(title: str, items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value), longest scale = largest value."""
    label_width = _label_width([label for label, _value in items])
    values = [f"{value:,}" for _label, value in items]
    width = max(label_width + BARS_WIDTH + _value_width(values), len(title) * CHAR + 8)
    height = ROW * max(len(items), 1) + 30
    biggest = max((value for _label, value in items), default=0) or 1
    scale = BARS_WIDTH / biggest
    parts = [_open(title, width, height)]
    if not items:
        parts.append(_text(8, 40, "No data in this period", MUTED))
    for i, (label, value) in enumerate(items):
        y = 26 + i * ROW
        length = value * scale
        parts.append(_text(label_width - 8, y + 14, label, TEXT, anchor="end"))
        parts.append(_rect(label_width, y + 2, length, ROW - 6, BAR))
        parts.append(_text(label_width + length + 6, y + 14, values[i], TEXT))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every piece is escaped above)


def funnel_chart(title: str, steps: list[tuple[str, int, int]]) -> Markup:
    """The IVR funnel: per step (label, reached, hung up there), a bar as wide as
    the callers who reached it, the part who hung up there drawn in another colour."""
    label_width = _label_width([label for label, _reached, _gone in steps])
    notes = [f"{reached:,} reached, {hung_up:,} hung up" for _label, reached, hung_up in steps]
    width = max(label_width + BARS_WIDTH + _value_width(notes), len(title) * CHAR + 8, 420)
    height = ROW * max(len(steps), 1) + 50
    biggest = max((reached for _label, reached, _gone in steps), default=0) or 1
    scale = BARS_WIDTH / biggest
    parts = [_open(title, width, height)]
    if not steps:
        parts.append(_text(8, 40, "No data in this period", MUTED))
    for i, (label, reached, hung_up) in enumerate(steps):
        y = 26 + i * ROW
        kept = max(reached - hung_up, 0) * scale
        parts.append(_text(label_width - 8, y + 14, label, TEXT, anchor="end"))
        parts.append(_rect(label_width, y + 2, kept, ROW - 6, BAR))
        parts.append(_rect(label_width + kept, y + 2, hung_up * scale, ROW - 6, HUNG_UP))
        parts.append(_text(label_width + reached * scale + 6, y + 14, notes[i], TEXT))
    legend_y = height - 12
    parts.append(_rect(label_width, legend_y - 9, 10, 10, BAR))
    parts.append(_text(label_width + 14, legend_y, "went on", MUTED))
    parts.append(_rect(label_width + 90, legend_y - 9, 10, 10, HUNG_UP))
    parts.append(_text(label_width + 104, legend_y, "hung up here", MUTED))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every piece is escaped above)


def _open(title: str, width: float, height: int) -> str:
    name = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{name}" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" font-family="sans-serif" font-size="12">'
        f"<title>{name}</title>"
        f'<text x="0" y="14" font-weight="bold" fill="{TEXT}">{name}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'


def _text(x: float, y: float, words: str, fill: str, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" fill="{fill}" text-anchor="{anchor}">{escape(words)}</text>'
    )
