"""requirements.lock is what `make run`, `make test` and CI install: every dependency
that pyproject.toml names is pinned there, with hashes (else: `make lock`)."""

from __future__ import annotations

import re
import tomllib

from tests.live_server import ROOT

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        line = block.splitlines()[0]
        if "==" in line and not line.startswith("#"):
            name, _, rest = line.partition("==")
            pins[_normal(name)] = block
    return pins


def test_every_dependency_is_pinned_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = _pins()
    missing = []
    for requirement in wanted:
        name = _normal(_NAME.match(requirement).group(1))
        if name not in pins:
            missing.append(name)
        else:
            assert "--hash=sha256:" in pins[name], f"{name} is pinned without a hash"
    assert not missing, f"not in requirements.lock: {missing}; run `make lock`"


def test_the_makefile_installs_the_lock_and_nothing_else():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements.lock" in makefile
    assert "pip install -q --no-deps -e ." in makefile
    assert "'.[dev]'" not in makefile
