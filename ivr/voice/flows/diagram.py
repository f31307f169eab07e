"""A call flow drawn as an SVG diagram: each step, its options and the words spoken.

Drawn here in plain Python (no Graphviz to install): steps are laid out in
layers by how many answers it takes to reach them, one box per step, with an
arrow per way out (keys that lead to the same step share one arrow). The
console can show the same drawing to supervisors: `flow_svg(flow)` is all it needs.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ivr.voice.flows.catalogue import Flow, Step
from ivr.voice.flows.graph import edges, entry_steps

BOX_WIDTH = 300
LINE_HEIGHT = 15
PAD = 10
GAP_X = 50
GAP_Y = 90
WRAP = 46  # characters per line of spoken words
MAX_SAID_LINES = 8
SVG_STYLE = (
    ".title{font-weight:bold}.said{font-style:italic;fill:#333}"
    ".option{fill:#000}.edge{fill:none;stroke:#555;stroke-width:1.2}"
    ".fail{stroke-dasharray:5 4;stroke:#a55}.key{fill:#225;font-size:11px}"
)
COLOURS = {"message": "#eef5ff", "menu": "#fff8e6", "confirm": "#f1f9ee", "digits": "#f6effa",
           "queue": "#e3f4e3"}  # fmt: skip


@dataclass
class Box:
    step: Step
    lines: list[tuple[str, str]]  # (css class, text)
    x: float = 0
    y: float = 0

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_HEIGHT + 2 * PAD


def _layers(flow: Flow) -> list[list[str]]:
    """Steps in layers: each step below every step that leads to it (arrows that
    go back, like "no, try again", are left out of the count); unreachable steps last."""
    targets = {s: [t for _, t in edges(flow.steps[s]) if t in flow.steps] for s in flow.steps}
    finished: list[str] = []  # depth-first post-order, without the arrows that go back
    forward: dict[str, list[str]] = {s: [] for s in flow.steps}
    state: dict[str, int] = {}

    def visit(step_id: str) -> None:
        state[step_id] = 1
        for target in targets[step_id]:
            if state.get(target) == 1:
                continue  # an arrow back to a step on the way here
            forward[step_id].append(target)
            if target not in state:
                visit(target)
        state[step_id] = 2
        finished.append(step_id)

    for start in entry_steps(flow):
        if start in flow.steps and start not in state:
            visit(start)
    depth = {s: 0 for s in finished}
    for step_id in reversed(finished):  # a topological order of the forward arrows
        for target in forward[step_id]:
            depth[target] = max(depth[target], depth[step_id] + 1)
    last = max(depth.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(last + 1)]
    for step_id in flow.steps:  # file order within a layer
        layers[depth.get(step_id, last)].append(step_id)
    return [layer for layer in layers if layer]


def _box(flow: Flow, step: Step, language: str) -> Box:
    def text(key: str, **values: str) -> str:
        try:
            return flow.prompt(language, key, **values) if values else flow.prompt(language, key)
        except (KeyError, IndexError, ValueError):
            return flow.prompts.get(language, {}).get(key, key)

    lines: list[tuple[str, str]] = [("title", f"{step.id} · {step.kind}")]
    said = " ".join(text(key, value="…", online="…", position="…") for key in step.say)
    wrapped = textwrap.wrap(said, WRAP)
    if len(wrapped) > MAX_SAID_LINES:
        wrapped = [*wrapped[: MAX_SAID_LINES - 1], wrapped[MAX_SAID_LINES - 1][: WRAP - 1] + "…"]
    lines += [("said", line) for line in wrapped]
    for option in step.options:
        spoken_in = flow.option_language(option, language)
        label = flow.prompts.get(spoken_in, {}).get(option.label, option.label)
        target = option.next or option.confirm or ""
        line = f"{option.key}: {label}{'' if option.spoken else ' (not spoken)'} → {target}"
        lines.append(("option", textwrap.shorten(line, WRAP + 4, placeholder="…")))
    if step.speech:
        lines.append(("option", f"or say a {step.speech} → {step.confirm or step.fail_next}"))
    if step.kind == "confirm":
        lines.append(("option", f"1: yes → {step.yes}   2: no → {step.no}"))
    if step.kind == "message":
        lines.append(("option", f"then → {step.next}"))
    return Box(step, lines)


def flow_svg(flow: Flow, language: str | None = None, *, embedded: bool = False) -> str:
    """The flow as a standalone SVG document, with the words in `language`.

    `embedded`: for a web page with a strict Content-Security-Policy, which refuses
    an inline <style>: the page's stylesheet gives the same rules (SVG_STYLE).
    """
    language = language or flow.languages[0]
    layers = _layers(flow)
    boxes = {s: _box(flow, flow.steps[s], language) for layer in layers for s in layer}
    width = max(len(layer) for layer in layers) * (BOX_WIDTH + GAP_X) + GAP_X
    y = 60.0
    for layer in layers:
        row = [boxes[s] for s in layer]
        left = (width - len(row) * (BOX_WIDTH + GAP_X) + GAP_X) / 2
        for i, box in enumerate(row):
            box.x, box.y = left + i * (BOX_WIDTH + GAP_X), y
        y += max(box.height for box in row) + GAP_Y
    height = y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
        "markerHeight='8' orient='auto-start-reverse'><path d='M 0 0 L 10 5 L 0 10 z' "
        "fill='#555'/></marker></defs>",
        "" if embedded else f"<style>{SVG_STYLE}</style>",
        f'<text x="{PAD}" y="24" font-size="16" font-weight="bold">'
        f"{escape(flow.name)} ({escape(flow.id)}, words in {escape(language)})</text>",
    ]
    parts += _edges(flow, boxes)
    for box in boxes.values():
        fill = COLOURS.get(box.step.kind, "#fff")
        parts.append(
            f'<g id="step-{_attribute(box.step.id)}"><rect x="{box.x:.0f}" y="{box.y:.0f}" '
            f'width="{BOX_WIDTH}" height="{box.height:.0f}" rx="6" fill="{fill}" stroke="#444"/>'
        )
        for i, (css, line) in enumerate(box.lines):
            ty = box.y + PAD + (i + 1) * LINE_HEIGHT - 3
            parts.append(
                f'<text class="{css}" x="{box.x + PAD:.0f}" y="{ty:.0f}">{escape(line)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _attribute(value: str) -> str:
    """Text for inside a double-quoted attribute."""
    return escape(value, {'"': "&quot;", "'": "&apos;"})


def _edges(flow: Flow, boxes: dict[str, Box]) -> list[str]:
    # One arrow per (step, target), labelled with every key or event that takes it.
    grouped: dict[tuple[str, str], list[str]] = {}
    for step_id in boxes:
        for what, target in edges(flow.steps[step_id]):
            if target in boxes:
                label = what.removeprefix("option ")
                grouped.setdefault((step_id, target), []).append(label)
    parts = []
    for (source, target), labels in grouped.items():
        a, b = boxes[source], boxes[target]
        failing = all(label in ("fail_next", "silence_next") for label in labels)
        css = "edge fail" if failing else "edge"
        x1, y1 = a.x + BOX_WIDTH / 2, a.y + a.height
        if b.y > a.y + a.height + GAP_Y * 1.5:  # down past other layers: round the left
            x1, y1 = a.x, a.y + a.height / 2
            x2, y2 = b.x, b.y + b.height / 2
            bulge = min(x1, x2) - GAP_X * 0.8
            path = f"M {x1:.0f} {y1:.0f} C {bulge:.0f} {y1:.0f}, {bulge:.0f} {y2:.0f}, "
            path += f"{x2:.0f} {y2:.0f}"
            lx, ly = bulge - 10, (y1 + y2) / 2
        elif b.y > a.y:  # down to the next layer
            x2, y2 = b.x + BOX_WIDTH / 2, b.y
            path = f"M {x1:.0f} {y1:.0f} C {x1:.0f} {y1 + 40:.0f}, {x2:.0f} {y2 - 40:.0f}, "
            path += f"{x2:.0f} {y2:.0f}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2
        else:  # back up (or across): round the right-hand side
            x1, y1 = a.x + BOX_WIDTH, a.y + a.height / 2
            x2, y2 = b.x + BOX_WIDTH, b.y + b.height / 2
            bulge = max(x1, x2) + GAP_X * 0.8
            path = f"M {x1:.0f} {y1:.0f} C {bulge:.0f} {y1:.0f}, {bulge:.0f} {y2:.0f}, "
            path += f"{x2:.0f} {y2:.0f}"
            lx, ly = bulge - 10, (y1 + y2) / 2
        parts.append(f'<path class="{css}" d="{path}" marker-end="url(#arrow)"/>')
        text = textwrap.shorten(", ".join(labels), 40, placeholder="…")
        parts.append(f'<text class="key" x="{lx + 4:.0f}" y="{ly:.0f}">{escape(text)}</text>')
    return parts
