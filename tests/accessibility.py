"""Accessibility and layout checks for real-browser tests (shared by every face).

`axe_violations` runs axe-core (shipped inside the PyPI package axe-playwright-python,
so nothing is fetched at run time) in the page with the WCAG 2.0, 2.1 and 2.2 A and
AA rules; `horizontal_overflow` and `broken_words` are what a phone-sized screen
shows first when a layout is wrong.
"""

from __future__ import annotations

from typing import Any

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def axe_violations(page: Any, tags: list[str] | None = None) -> list[str]:
    """One line per violated rule: "rule-id (impact): help — N nodes: selector, …"."""
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "runOnly": {"type": "tag", "values": tags or WCAG_TAGS},
        "resultTypes": ["violations"],
    }
    results = Axe().run(page, options=options)
    lines = []
    for violation in results.response.get("violations", []):
        targets = [", ".join(map(str, node.get("target", []))) for node in violation["nodes"]]
        lines.append(
            f"{violation['id']} ({violation.get('impact')}): {violation['help']} — "
            f"{len(targets)} nodes: {'; '.join(targets[:5])}"
        )
    return lines


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth,"
            " document.body.scrollWidth) - window.innerWidth"
        )
    )


# A word of 2-24 letters whose first and last letters stand on different lines was
# broken inside (“Serg / eant”). Longer runs (a URL, a hash) may have to wrap.
_BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const words = /[A-Za-z\\u00C0-\\u024F]{2,24}/g;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("svg, script, style, [hidden], .visually-hidden")) continue;
    if (!parent.getClientRects().length) continue;
    let match;
    while ((match = words.exec(node.data)) !== null) {
      const first = document.createRange();
      first.setStart(node, match.index); first.setEnd(node, match.index + 1);
      const last = document.createRange();
      const end = match.index + match[0].length;
      last.setStart(node, end - 1); last.setEnd(node, end);
      const a = first.getBoundingClientRect(), b = last.getBoundingClientRect();
      if (a.height && b.height && Math.abs(a.top - b.top) > a.height / 2) broken.push(match[0]);
    }
  }
  return broken.slice(0, 20);
}"""


def broken_words(page: Any) -> list[str]:
    """Words split across two lines inside the word."""
    return list(page.evaluate(_BROKEN_WORDS))


def assert_accessible(page: Any, name: str) -> None:
    """Every rule axe runs by default (the WCAG A and AA rules above and axe's best
    practices), zero violations; the result is saved as test-artifacts/axe-<name>.json.
    The page's context must let the script in (`bypass_csp=True`): our pages' CSP
    rightly allows no script but our own. Used by the online report's browser tests."""
    import json

    from axe_playwright_python.sync_playwright import Axe

    from tests.browser import ARTIFACTS

    violations = Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]
    summary = [
        {"id": v["id"], "impact": v.get("impact"), "help": v["help"],
         "nodes": [node["target"] for node in v["nodes"]]}
        for v in violations
    ]  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(
        json.dumps({"url": page.url, "violations": summary}, indent=2)
    )
    assert not violations, f"{name} ({page.url}): " + json.dumps(summary, indent=1)
