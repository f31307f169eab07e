"""`ivr flows draw`: the flow as an SVG diagram, drawn by the project itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

from click.testing import CliRunner

from ivr.cli import cli
from ivr.core.settings import PROJECT_ROOT
from ivr.voice.flows.catalogue import load_flow
from ivr.voice.flows.diagram import flow_svg

SVG = "{http://www.w3.org/2000/svg}"
HELPLINE = load_flow(PROJECT_ROOT / "call_flows" / "helpline")


def boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    root = ET.fromstring(svg)  # noqa: S314 (our own drawing)
    assert root.tag == f"{SVG}svg"
    found = {}
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        assert rect is not None
        found[group.get("id", "").removeprefix("step-")] = tuple(
            float(rect.get(a, "0")) for a in ("x", "y", "width", "height")
        )
    return found


def test_every_step_is_a_box_and_no_two_boxes_overlap():
    drawn = boxes(flow_svg(HELPLINE))
    assert set(drawn) == set(HELPLINE.steps)
    for (a, (ax, ay, aw, ah)), (b, (bx, by, bw, bh)) in combinations(drawn.items(), 2):
        apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
        assert apart, f"{a} and {b} overlap"


def test_the_words_spoken_options_and_arrows_are_drawn():
    svg = flow_svg(HELPLINE)
    assert "Is anyone at risk now?" in svg
    assert "2: No → anonymity" in svg
    assert "9: Not sure (not spoken) → anonymity" in svg
    assert svg.count("<path class=") >= 20  # an arrow per way out (keys to one step share one)
    # The start is above what follows it, and the queue at the bottom.
    drawn = boxes(svg)
    assert drawn["language"][1] < drawn["welcome"][1] < drawn["role"][1] < drawn["force"][1]
    assert drawn["force"][1] < drawn["category"][1] < drawn["risk"][1]
    assert drawn["queue"][1] == max(y for _, y, _, _ in drawn.values())


def test_the_words_can_be_drawn_in_welsh():
    svg = flow_svg(HELPLINE, "cy")
    assert "Oes rhywun mewn perygl nawr?" in svg
    assert "Is anyone at risk now?" not in svg


def test_the_command_writes_an_svg_file(tmp_path: Path):
    target = tmp_path / "helpline.svg"
    result = CliRunner().invoke(cli, ["flows", "draw", "helpline", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert set(boxes(target.read_text())) == set(HELPLINE.steps)
    by_number = CliRunner().invoke(cli, ["flows", "draw", "0800 085 0001", "-o", str(target)])
    assert by_number.exit_code == 0, by_number.output


def test_the_command_refuses_an_unknown_line_or_language(tmp_path: Path):
    runner = CliRunner()
    unknown = runner.invoke(cli, ["flows", "draw", "nope", "-o", str(tmp_path / "x.svg")])
    assert unknown.exit_code == 1
    assert unknown.stderr.splitlines() == [
        "Error: no line 'nope': give one of helpline or its number"
    ]
    language = runner.invoke(cli, ["flows", "draw", "helpline", "--language", "ga"])
    assert language.exit_code == 1
    assert "has no language 'ga' (it has en, cy)" in language.stderr
