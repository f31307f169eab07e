"""The figures page's SVG charts: well-formed, escaped, proportional, no styles or scripts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from handler_console.charts import bar_chart, funnel_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect")]


def test_bar_chart_is_svg_with_a_name_and_proportional_bars():
    root = parse(bar_chart("Passed by force", [("Kent", 10), ("Metropolitan", 5)]))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-label") == "Passed by force"
    assert root.find(f"{SVG}title").text == "Passed by force"
    widths = bars(root)
    assert len(widths) == 2 and abs(widths[0] - 2 * widths[1]) < 0.2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Kent" in texts and "10" in texts and "Metropolitan" in texts


def test_labels_are_escaped():
    markup = bar_chart('<script>alert("x")</script>', [("<b>&", 1)])
    assert "<script>" not in markup and "<b>" not in markup
    root = parse(markup)
    assert "<b>&" in [t.text for t in root.iter(f"{SVG}text")]


def test_no_styles_or_scripts_for_the_content_security_policy():
    for markup in (
        bar_chart("a", [("x", 3)]),
        funnel_chart("b", [("force", 10, 2), ("role", 8, 0)]),
    ):
        assert "style=" not in markup and "<style" not in markup and "<script" not in markup


def test_empty_charts_say_so():
    for markup in (bar_chart("a", []), funnel_chart("b", [])):
        assert "No data in this period" in markup
        parse(markup)


def test_funnel_bar_is_as_wide_as_reached_with_the_hung_up_part_apart():
    root = parse(funnel_chart("Funnel", [("force", 10, 2), ("role", 5, 5)]))
    widths = bars(root)[:4]  # then the legend's two squares
    went_on_force, hung_up_force, went_on_role, hung_up_role = widths
    assert abs((went_on_force + hung_up_force) - 2 * (went_on_role + hung_up_role)) < 0.2
    assert abs(went_on_force - 4 * hung_up_force) < 0.2
    assert went_on_role == 0
    assert "10 reached, 2 hung up" in [t.text for t in root.iter(f"{SVG}text")]


def test_long_labels_and_notes_are_never_clipped():
    """A label drawn right-aligned must start at x >= 0, and the funnel's note must end
    inside the drawing ("16 reached, 2 hung u" and "mation or influence" were cut)."""
    label = "Information or influence for money or favours"
    root = parse(bar_chart("By category", [(label, 16), ("Other", 2)]))
    width = float(root.get("width"))
    for text in root.iter(f"{SVG}text"):
        if text.text == label:
            assert float(text.get("x")) - len(label) * 7.2 >= 0
    funnel = parse(funnel_chart("Funnel", [("Which force: London and South East", 16, 2)]))
    width = float(funnel.get("width"))
    for text in funnel.iter(f"{SVG}text"):
        if text.text == "16 reached, 2 hung up":
            assert float(text.get("x")) + len(text.text) * 7.2 <= width
