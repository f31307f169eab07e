"""A missing or malformed setting stops start-up with one clear line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ivr.core.settings import PROJECT_ROOT, SettingsError, load_settings

ROOT = PROJECT_ROOT
IVR = str(Path(sys.executable).with_name("ivr"))


def good_env(tmp_path: Path) -> dict[str, str]:
    return {
        "IVR_INSTANCE_DIR": str(tmp_path),
        "TWILIO_AUTH_TOKEN": "token",
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
    }


def test_environment_overrides_the_toml(tmp_path):
    env = {**good_env(tmp_path), "IVR_CALLS_MAX_TRIES": "5", "PUBLIC_BASE_URL": "https://x.org"}
    settings = load_settings(environ=env)
    assert settings.max_tries == 5
    assert settings.public_base_url == "https://x.org"
    assert settings.check_signatures is True  # the default, never off by default


def test_instance_file_is_read(tmp_path):
    (tmp_path / "local.toml").write_text("[calls]\nmax_tries = 4\n")
    assert load_settings(environ=good_env(tmp_path)).max_tries == 4


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TWILIO_AUTH_TOKEN", "", "TWILIO_AUTH_TOKEN"),
        ("IVR_SECRET_KEY", "short", "IVR_SECRET_KEY"),
        ("IVR_CONTACT_KEY", "not-a-key", "IVR_CONTACT_KEY"),
        ("IVR_CALLS_MAX_TRIES", "three", "IVR_CALLS_MAX_TRIES"),
        ("IVR_CALLS_MAX_TRIES", str(10**22), "IVR_CALLS_MAX_TRIES"),
        ("IVR_DELIVERY_RETRY_MAX", "2147483648", "at most 2,147,483,647"),
        ("IVR_TWILIO_CHECK_SIGNATURES", "perhaps", "IVR_TWILIO_CHECK_SIGNATURES"),
        ("IVR_TWILIO_CHECK_SIGNATURES", "false", "IVR_TWILIO_CHECK_SIGNATURES"),
        ("PUBLIC_BASE_URL", "helpline.org", "PUBLIC_BASE_URL"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("IVR_WEB_ENVIRONMENT", "staging", "IVR_WEB_ENVIRONMENT"),
    ],
)
def test_bad_setting_is_named(tmp_path, name, value, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={**good_env(tmp_path), name: value})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_malformed_toml_is_named(tmp_path):
    (tmp_path / "local.toml").write_text("[calls\nmax_tries = ")
    with pytest.raises(SettingsError, match="local.toml"):
        load_settings(environ=good_env(tmp_path))


def run_ivr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("PUBLIC_BASE_URL", None)
    return subprocess.run(
        [IVR, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_cli_with_a_missing_setting_prints_one_line_and_fails(tmp_path):
    env = good_env(tmp_path)
    del env["TWILIO_AUTH_TOKEN"]
    result = run_ivr("db", "upgrade", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "TWILIO_AUTH_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_bad_settings_before_starting_gunicorn(tmp_path):
    env = {**good_env(tmp_path), "IVR_CONTACT_KEY": "nope"}
    result = run_ivr("serve", "--bind", "127.0.0.1:0", env=env)
    assert result.returncode == 1
    assert "IVR_CONTACT_KEY" in result.stderr and "Traceback" not in result.stderr


def test_cli_usage_error_is_one_clear_line(tmp_path):
    result = run_ivr("serve", "--workers", "zero", env=good_env(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--workers" in result.stderr


def test_db_upgrade_creates_the_database(tmp_path):
    result = run_ivr("db", "upgrade", env=good_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "h.db").exists()
    assert "up to date" in result.stdout


def test_init_instance_writes_working_secrets(tmp_path):
    env = {"IVR_INSTANCE_DIR": str(tmp_path)}
    assert run_ivr("init-instance", env=env).returncode == 0
    settings = load_settings(environ=env)
    assert settings.is_development and len(settings.secret_key) >= 32
    assert oct((tmp_path / "local.toml").stat().st_mode)[-3:] == "600"
    again = run_ivr("init-instance", env=env)
    assert "keeping it" in again.stdout


def test_wsgi_entry_with_bad_settings_says_one_line(tmp_path):
    env = good_env(tmp_path)
    del env["IVR_CONTACT_KEY"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import ivr.wsgi"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    # 3: gunicorn's "worker failed to boot", which stops gunicorn rather than starting
    # another worker that would fail the same way.
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "ivr: setting contact_key (IVR_CONTACT_KEY) is missing: `ivr keys` makes one"
    )
