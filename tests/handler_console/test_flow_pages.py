"""The console's flow diagrams: for supervisors and admins, each line in each of its
languages, the SVG inline under the console's strict CSP (no inline style or script)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr import create_app
from ivr.core.db import get_engine
from ivr.core.settings import PROJECT_ROOT
from tests.console_helpers import add_user, sign_in


def _diagram(page: str) -> ET.Element:
    start = page.index("<svg")
    end = page.index("</svg>") + len("</svg>")
    return ET.fromstring(page[start:end])  # noqa: S314 (our own page)


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_see_each_flow(app, client, role):
    add_user(app, "someone", role)
    sign_in(client, "someone")
    response = client.get("/console/flows")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "script-src 'self'" in csp
    page = response.get_data(as_text=True)
    svg = _diagram(page)
    ids = {g.get("id") for g in svg.iter("{http://www.w3.org/2000/svg}g")}
    assert {"step-language", "step-force", "step-queue"} <= ids
    # Nothing the CSP would refuse: no <style>, no style= or on…= attributes, no script.
    for element in svg.iter():
        assert element.tag.rsplit("}", 1)[-1] not in ("style", "script", "foreignObject")
        assert not [a for a in element.attrib if a == "style" or a.startswith("on")]
    assert "Which force" in page
    welsh = client.get("/console/flows?line=helpline&language=cy").get_data(as_text=True)
    assert "Pa heddlu" in welsh or "heddlu" in welsh.lower()
    assert client.get("/console/flows?line=helpline&language=fr").status_code == 404
    assert client.get("/console/flows?line=nowhere").status_code == 404


def test_a_handler_is_refused_the_flows(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    assert client.get("/console/flows").status_code == 403


def test_words_in_a_flow_are_escaped(settings_overrides, tmp_path: Path, monkeypatch):
    flows = tmp_path / "call_flows"
    shutil.copytree(PROJECT_ROOT / "call_flows", flows)
    flow_toml = flows / "helpline" / "flow.toml"
    text = flow_toml.read_text()
    name_line = next(line for line in text.splitlines() if line.startswith("name ="))
    flow_toml.write_text(text.replace(name_line, 'name = "<script>alert(1)</script> & co"'))
    monkeypatch.setenv("IVR_FLOWS_DIR", str(flows))
    app = create_app(settings_overrides)
    try:
        add_user(app, "sue", "supervisor")
        client = app.test_client()
        sign_in(client, "sue")
        page = client.get("/console/flows").get_data(as_text=True)
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
        _diagram(page)  # still well-formed
    finally:
        get_engine(app).dispose()
