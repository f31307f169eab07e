"""The systemd units in deploy/ are valid, and agree with the nginx site and the settings."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.live_server import ROOT
from tests.production.stack import IVR, SITE

UNITS = ROOT / "deploy" / "systemd"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_units_are_valid(tmp_path):
    for unit in UNITS.iterdir():
        # The venv's ivr stands in for /srv/helpline's, which this machine does not have.
        text = unit.read_text().replace("/srv/helpline/.venv/bin/ivr", IVR)
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(  # noqa: S603
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_gunicorn_listens_where_nginx_sends_and_files_stay_private():
    web = (UNITS / "helpline-web.service").read_text()
    bind = re.search(r"ivr serve --bind (\S+)", web)
    assert bind is not None
    assert f"server {bind.group(1)};" in SITE.read_text()
    for name in (
        "helpline-web.service",
        "helpline-deliver.service",
        "helpline-erase.service",
        "helpline-purge.service",
    ):
        unit = (UNITS / name).read_text()
        assert "UMask=0077" in unit and "User=helpline" in unit, name
        assert "EnvironmentFile=/etc/helpline/helpline.env" in unit, name
