"""requirements.lock is what `make run`, `make test` and CI install: every dependency
pyproject.toml names, the dev extras too, must be pinned there (`make lock`)."""

from __future__ import annotations

import re
import tomllib

from ivr.core.settings import PROJECT_ROOT


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["dev"]}
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pinned = {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    assert wanted - pinned == set(), "run `make lock`: these are not in requirements.lock"


def test_every_pin_has_hashes_and_make_installs_only_the_lock():
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pins = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2])
    assert pins and all("--hash=sha256:" in pin for pin in pins if "==" in pin)
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements.lock" in makefile
    assert "pip install -q --no-deps -e ." in makefile
