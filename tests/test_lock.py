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
