"""An automated accessibility check for any page a browser test has open: axe-core
(shipped inside the `axe-playwright-python` package, so nothing is fetched) run in
Debian's chromium. Every rule axe runs by default (WCAG 2.0-2.2 A and AA, and axe's
best practices) must pass: zero violations.

    from tests.accessibility import assert_accessible
    assert_accessible(page, "online-start-en")   # report saved in test-artifacts/

The page's context must allow the injected script: open it with `bypass_csp=True`
(our pages' Content-Security-Policy rightly allows no script but our own).
"""

from __future__ import annotations

import json
from typing import Any

from tests.browser import ARTIFACTS

AXE_OPTIONS = {"resultTypes": ["violations"]}


def axe_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return list(results.response["violations"])


def assert_accessible(page: Any, name: str) -> None:
    violations = axe_violations(page)
    ARTIFACTS.mkdir(exist_ok=True)
    summary = [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v["help"],
            "nodes": [node["target"] for node in v["nodes"]],
        }
        for v in violations
    ]
    (ARTIFACTS / f"axe-{name}.json").write_text(
        json.dumps({"url": page.url, "violations": summary}, indent=2)
    )
    assert not violations, f"{name} ({page.url}): " + json.dumps(summary, indent=1)
