"""The instance folder is 0700 and its files 0600 (the SQLite database, its WAL and
shared-memory files, local.toml with the keys), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr import create_app
from ivr.cli import cli
from ivr.core.db import get_engine
from ivr.core.migrate import upgrade
from tests.conftest import AUTH_TOKEN, start_in_english


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files: what the code must not rely on."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_sqlite_database_and_its_wal_are_private(
    tmp_path, open_umask, settings_overrides, monkeypatch
):
    instance = tmp_path / "instance"
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(instance))
    database = instance / "helpline.db"
    upgrade(f"sqlite:///{database}")  # `ivr db upgrade` makes the file
    app = create_app({**settings_overrides, "database_url": f"sqlite:///{database}"})
    try:
        from ivr.sim.twilio import SimulatedCall, flask_transport

        call = SimulatedCall(
            transport=flask_transport(app.test_client()),
            auth_token=AUTH_TOKEN,
            base_url="http://localhost/",
        )
        start_in_english(call)  # a write: the -wal and -shm files exist now
        assert _mode(instance) == 0o700
        for name in ("helpline.db", "helpline.db-wal", "helpline.db-shm"):
            assert (instance / name).exists(), name
            assert _mode(instance / name) == 0o600, name
    finally:
        get_engine(app).dispose()


def test_an_existing_instance_folder_is_narrowed_at_start(
    tmp_path, open_umask, settings_overrides, monkeypatch
):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)
    (instance / "local.toml").write_text("# nothing\n")
    os.chmod(instance / "local.toml", 0o644)
    database = instance / "helpline.db"
    upgrade(f"sqlite:///{database}")
    for path in instance.iterdir():
        os.chmod(path, 0o644)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(instance))
    app = create_app({**settings_overrides, "database_url": f"sqlite:///{database}"})
    get_engine(app).dispose()
    assert _mode(instance) == 0o700
    assert {p.name: _mode(p) for p in instance.iterdir()} == {
        name: 0o600 for name in (p.name for p in instance.iterdir())
    }


def test_init_instance_creates_the_secrets_file_0600_from_the_start(
    tmp_path, open_umask, monkeypatch
):
    instance = tmp_path / "instance"
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(instance))
    opened = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append((str(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    result = CliRunner().invoke(cli, ["init-instance"])
    assert result.exit_code == 0, result.output
    target = str(instance / "local.toml")
    created = [(flags, mode) for path, flags, mode in opened if path == target]
    # Created by one call that makes it 0600, and refuses to reuse an existing file.
    assert created, "local.toml was not created with os.open and a mode"
    flags, mode = created[0]
    assert mode == 0o600 and flags & os.O_CREAT and flags & os.O_EXCL
    assert _mode(instance / "local.toml") == 0o600
    assert _mode(instance) == 0o700


def test_a_shared_folder_like_tmp_is_left_alone(tmp_path):
    from ivr.core.private_files import private_folder

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    private_folder(shared)
    assert _mode(shared) == 0o1777
