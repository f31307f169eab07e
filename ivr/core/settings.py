"""Typed settings: config/default.toml, then instance/local.toml, then the environment.

A missing or malformed setting raises SettingsError with one line naming it;
the CLI and the WSGI entry print that line and stop.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# What a delivery's lease allows beyond its attempt's deadline: reading and recording it.
LEASE_MARGIN_SECONDS = 10


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for a human."""


@dataclass(frozen=True)
class ConfigPaths:
    """Where the settings, the call flows and the instance's files are: the one place
    IVR_CONFIG_DIR, IVR_FLOWS_DIR and IVR_INSTANCE_DIR are read. Commands that need
    only the files (checking flows, writing a new instance) use this without the
    secrets a whole Settings requires."""

    config_dir: Path
    flows_dir: Path
    instance_dir: Path

    @classmethod
    def from_environ(cls, environ: dict[str, str] | os._Environ[str] | None = None) -> ConfigPaths:
        environ = os.environ if environ is None else environ
        return cls(
            config_dir=Path(environ.get("IVR_CONFIG_DIR", PROJECT_ROOT / "config")),
            flows_dir=Path(environ.get("IVR_FLOWS_DIR", PROJECT_ROOT / "call_flows")),
            instance_dir=Path(environ.get("IVR_INSTANCE_DIR", PROJECT_ROOT / "instance")),
        )

    @property
    def forces_file(self) -> Path:
        return self.config_dir / "forces.toml"


@dataclass(frozen=True)
class Settings:
    """Every setting, as load_settings reads it. No field has a default: each setting's
    is in config/default.toml (each folder's in ConfigPaths), and only there."""

    database_url: str
    migration_statement_timeout_seconds: int
    migration_lock_timeout_seconds: int
    twilio_auth_token: str
    twilio_account_sid: str
    twilio_caller_id: str
    twilio_erase_calls: bool
    twilio_erase_retry_base_seconds: int
    twilio_erase_retry_max_seconds: int
    check_signatures: bool
    public_base_url: str
    trusted_proxies: int
    environment: str
    secret_key: str
    online_report_url: str
    contact_key: str
    max_tries: int
    gather_timeout_seconds: int
    queue_offer_after_seconds: int
    queue_pause_seconds: int
    check_staffing: bool
    routing_fallback_force: str
    delivery_timeout_seconds: int
    delivery_retry_base_seconds: int
    delivery_retry_max_seconds: int
    delivery_lease_seconds: int
    delivery_alert_after_seconds: int
    delivery_interval_seconds: int
    delivery_concurrency: int
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_starttls: bool
    smtp_ca_file: str
    smtp_sender: str
    retention_call_days: int
    retention_contact_days: int
    session_idle_minutes: int
    login_max_failures: int
    login_lock_minutes: int
    login_failure_delay_ms: int
    two_factor: bool
    call_gateway: str
    queue_refresh_seconds: int
    config_dir: Path
    flows_dir: Path
    instance_dir: Path
    extra: dict[str, Any]

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def forces_file(self) -> Path:
        return self.config_dir / "forces.toml"


# setting name -> (TOML section, TOML key, environment variable)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "database_url": ("database", "url", "DATABASE_URL"),
    "migration_statement_timeout_seconds": (
        "database",
        "migration_statement_timeout_seconds",
        "IVR_DB_MIGRATION_STATEMENT_TIMEOUT",
    ),
    "migration_lock_timeout_seconds": (
        "database",
        "migration_lock_timeout_seconds",
        "IVR_DB_MIGRATION_LOCK_TIMEOUT",
    ),
    "twilio_auth_token": ("twilio", "auth_token", "TWILIO_AUTH_TOKEN"),
    "twilio_account_sid": ("twilio", "account_sid", "TWILIO_ACCOUNT_SID"),
    "twilio_caller_id": ("twilio", "caller_id", "TWILIO_CALLER_ID"),
    "twilio_erase_calls": ("twilio", "erase_calls", "IVR_TWILIO_ERASE_CALLS"),
    "twilio_erase_retry_base_seconds": (
        "twilio",
        "erase_retry_base_seconds",
        "IVR_TWILIO_ERASE_RETRY_BASE",
    ),
    "twilio_erase_retry_max_seconds": (
        "twilio",
        "erase_retry_max_seconds",
        "IVR_TWILIO_ERASE_RETRY_MAX",
    ),
    "check_signatures": ("twilio", "check_signatures", "IVR_TWILIO_CHECK_SIGNATURES"),
    "public_base_url": ("web", "public_base_url", "PUBLIC_BASE_URL"),
    "trusted_proxies": ("web", "trusted_proxies", "IVR_WEB_TRUSTED_PROXIES"),
    "environment": ("web", "environment", "IVR_WEB_ENVIRONMENT"),
    "secret_key": ("web", "secret_key", "IVR_SECRET_KEY"),
    "online_report_url": ("web", "online_report_url", "IVR_ONLINE_REPORT_URL"),
    "contact_key": ("security", "contact_key", "IVR_CONTACT_KEY"),
    "max_tries": ("calls", "max_tries", "IVR_CALLS_MAX_TRIES"),
    "gather_timeout_seconds": ("calls", "gather_timeout_seconds", "IVR_CALLS_GATHER_TIMEOUT"),
    "queue_offer_after_seconds": ("calls", "queue_offer_after_seconds", "IVR_QUEUE_OFFER_AFTER"),
    "queue_pause_seconds": ("calls", "queue_pause_seconds", "IVR_QUEUE_PAUSE"),
    "check_staffing": ("calls", "check_staffing", "IVR_CALLS_CHECK_STAFFING"),
    "routing_fallback_force": ("routing", "fallback_force", "IVR_ROUTING_FALLBACK_FORCE"),
    "delivery_timeout_seconds": ("delivery", "timeout_seconds", "IVR_DELIVERY_TIMEOUT"),
    "delivery_retry_base_seconds": ("delivery", "retry_base_seconds", "IVR_DELIVERY_RETRY_BASE"),
    "delivery_retry_max_seconds": ("delivery", "retry_max_seconds", "IVR_DELIVERY_RETRY_MAX"),
    "delivery_lease_seconds": ("delivery", "lease_seconds", "IVR_DELIVERY_LEASE"),
    "delivery_alert_after_seconds": ("delivery", "alert_after_seconds", "IVR_DELIVERY_ALERT_AFTER"),
    "delivery_interval_seconds": ("delivery", "interval_seconds", "IVR_DELIVERY_INTERVAL"),
    "delivery_concurrency": ("delivery", "concurrency", "IVR_DELIVERY_CONCURRENCY"),
    "smtp_host": ("smtp", "host", "IVR_SMTP_HOST"),
    "smtp_port": ("smtp", "port", "IVR_SMTP_PORT"),
    "smtp_username": ("smtp", "username", "IVR_SMTP_USERNAME"),
    "smtp_password": ("smtp", "password", "IVR_SMTP_PASSWORD"),
    "smtp_starttls": ("smtp", "starttls", "IVR_SMTP_STARTTLS"),
    "smtp_ca_file": ("smtp", "ca_file", "IVR_SMTP_CA_FILE"),
    "smtp_sender": ("smtp", "sender", "IVR_SMTP_SENDER"),
    "retention_call_days": ("retention", "call_days", "IVR_RETENTION_CALL_DAYS"),
    "retention_contact_days": ("retention", "contact_days", "IVR_RETENTION_CONTACT_DAYS"),
    "session_idle_minutes": ("console", "session_idle_minutes", "IVR_CONSOLE_IDLE_MINUTES"),
    "login_max_failures": ("console", "login_max_failures", "IVR_CONSOLE_LOGIN_MAX_FAILURES"),
    "login_lock_minutes": ("console", "login_lock_minutes", "IVR_CONSOLE_LOGIN_LOCK_MINUTES"),
    "login_failure_delay_ms": (
        "console",
        "login_failure_delay_ms",
        "IVR_CONSOLE_LOGIN_FAILURE_DELAY_MS",
    ),
    "two_factor": ("console", "two_factor", "IVR_CONSOLE_TWO_FACTOR"),
    "call_gateway": ("console", "call_gateway", "IVR_CONSOLE_CALL_GATEWAY"),
    "queue_refresh_seconds": ("console", "queue_refresh_seconds", "IVR_CONSOLE_QUEUE_REFRESH"),
}


def _read_toml(path: Path, required: bool = False) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        if required:
            # Without it every setting would be missing, and the first one checked
            # (not the file) would be blamed.
            raise SettingsError(
                f"settings file {path} is missing: IVR_CONFIG_DIR names the folder "
                "holding default.toml (the project's config/)"
            ) from None
        return {}
    except OSError as exc:
        raise SettingsError(f"settings file {path} cannot be read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


# No count, port or number of seconds here is larger: beyond it a timer, a database
# INTEGER or a date sum overflows later, far from the setting that caused it.
MAX_WHOLE = 2**31 - 1


def _coerce(name: str, env_name: str, raw: Any, kind: type) -> Any:
    where = f"setting {name} ({env_name})"
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{where} must be true or false, not {raw!r}")
    if kind is int:
        if isinstance(raw, bool):
            raise SettingsError(f"{where} must be a whole number, not {raw!r}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where} must be a whole number, not {raw!r}") from None
        if value < 0:
            raise SettingsError(f"{where} must not be negative")
        if value > MAX_WHOLE:
            raise SettingsError(f"{where} must be at most {MAX_WHOLE:,}, not {value:,}")
        return value
    if not isinstance(raw, str):
        raise SettingsError(f"{where} must be text, not {raw!r}")
    return raw.strip()


def load_settings(
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> Settings:
    """Read and check every setting. `overrides` (by setting name) win over all."""
    environ = os.environ if environ is None else environ
    paths = ConfigPaths.from_environ(environ)
    data = _read_toml(paths.config_dir / "default.toml", required=True)
    _merge(data, _read_toml(paths.instance_dir / "local.toml"))

    types = {f.name: f.type for f in fields(Settings)}
    kinds = {"str": str, "int": int, "bool": bool}
    values: dict[str, Any] = {}
    for name, (section, key, env_name) in _SOURCES.items():
        raw = data.get(section, {}).get(key, "")
        if env_name in environ:
            raw = environ[env_name]
        values[name] = _coerce(name, env_name, raw, kinds[str(types[name])])
    for name, value in (overrides or {}).items():
        values[name] = value

    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{paths.instance_dir / 'helpline.db'}"
    settings = Settings(
        **values,
        config_dir=paths.config_dir,
        flows_dir=paths.flows_dir,
        instance_dir=paths.instance_dir,
        extra=data,
    )
    check_settings(settings)
    return settings


def check_settings(settings: Settings) -> None:
    """Refuse settings that would start an unsafe or broken service."""
    if settings.environment not in {"production", "development"}:
        raise SettingsError(
            "setting environment (IVR_WEB_ENVIRONMENT) must be production or development, "
            f"not {settings.environment!r}"
        )
    if not settings.twilio_auth_token:
        raise SettingsError(
            "setting twilio_auth_token (TWILIO_AUTH_TOKEN) is missing: "
            "webhook signatures cannot be checked without it"
        )
    if not settings.check_signatures and not settings.is_development:
        raise SettingsError(
            "setting check_signatures (IVR_TWILIO_CHECK_SIGNATURES) may be off only when "
            "environment (IVR_WEB_ENVIRONMENT) is development"
        )
    if not settings.two_factor and not settings.is_development:
        raise SettingsError(
            "setting two_factor (IVR_CONSOLE_TWO_FACTOR) may be off only when "
            "environment (IVR_WEB_ENVIRONMENT) is development: staff sign in with a second "
            "factor in production"
        )
    if len(settings.secret_key) < 32:
        raise SettingsError(
            "setting secret_key (IVR_SECRET_KEY) is missing or shorter than 32 characters"
        )
    if not settings.contact_key:
        raise SettingsError(
            "setting contact_key (IVR_CONTACT_KEY) is missing: `ivr keys` makes one"
        )
    try:
        if len(base64.urlsafe_b64decode(settings.contact_key.encode())) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        raise SettingsError(
            "setting contact_key (IVR_CONTACT_KEY) is not a Fernet key "
            "(32 bytes, urlsafe base64): `ivr keys` makes one"
        ) from None
    if settings.public_base_url and not settings.public_base_url.startswith(
        ("https://", "http://")
    ):
        raise SettingsError(
            "setting public_base_url (PUBLIC_BASE_URL) must start with https:// "
            f"(or http:// for local testing), not {settings.public_base_url!r}"
        )
    if settings.call_gateway not in {"twilio", "fake"}:
        raise SettingsError(
            "setting call_gateway (IVR_CONSOLE_CALL_GATEWAY) must be twilio or fake, "
            f"not {settings.call_gateway!r}"
        )
    if settings.session_idle_minutes < 1:
        raise SettingsError(
            "setting session_idle_minutes (IVR_CONSOLE_IDLE_MINUTES) must be at least 1"
        )
    if settings.max_tries < 1:
        raise SettingsError("setting max_tries (IVR_CALLS_MAX_TRIES) must be at least 1")
    for name in (
        "migration_statement_timeout_seconds",
        "migration_lock_timeout_seconds",
        "delivery_timeout_seconds",
        "delivery_retry_base_seconds",
        "delivery_retry_max_seconds",
        "delivery_lease_seconds",
        "delivery_concurrency",
        "smtp_port",
    ):
        if getattr(settings, name) < 1:
            raise SettingsError(f"setting {name} ({_SOURCES[name][2]}) must be at least 1")
    # A lease that ends before its attempt's deadline lets a second worker send the same
    # report while the first is still waiting for the force (then both record it).
    if settings.delivery_lease_seconds < settings.delivery_timeout_seconds + LEASE_MARGIN_SECONDS:
        raise SettingsError(
            "setting delivery_lease_seconds (IVR_DELIVERY_LEASE) must be at least "
            f"delivery_timeout_seconds (IVR_DELIVERY_TIMEOUT) + {LEASE_MARGIN_SECONDS}, "
            f"not {settings.delivery_lease_seconds}"
        )
    for name in ("retention_call_days", "retention_contact_days"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"setting {name} ({_SOURCES[name][2]}) must be at least 1 day")
    if not settings.smtp_starttls and not is_this_machine(settings.smtp_host):
        raise SettingsError(
            "setting smtp_starttls (IVR_SMTP_STARTTLS) must be true: reports are e-mailed "
            f"to {settings.smtp_host!r}, not a server on this machine, and never in clear"
        )
    if settings.smtp_ca_file and not Path(settings.smtp_ca_file).is_file():
        raise SettingsError(
            f"setting smtp_ca_file (IVR_SMTP_CA_FILE) names no file: {settings.smtp_ca_file!r}"
        )
    if not settings.database_url.startswith(("sqlite", "postgresql")):
        raise SettingsError(
            "setting database_url (DATABASE_URL) must be a sqlite:/// or postgresql:// URL"
        )
    _check_database_url(settings.database_url)


def _check_database_url(url: str) -> None:
    """A URL SQLAlchemy can read, with a port that is a number (otherwise the engine
    fails later, with a traceback). The URL is not repeated: it may hold a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    where = "setting database_url (DATABASE_URL)"
    try:
        parsed = make_url(url)
        port = parsed.port
    except ValueError:
        raise SettingsError(f"{where} is not a valid URL: its port must be a number") from None
    except ArgumentError:
        raise SettingsError(f"{where} is not a valid URL") from None
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"{where} is not a valid URL: its port must be 1 to 65535")
    # The drivers installed (requirements.lock): psycopg 3 and Python's sqlite3.
    if parsed.drivername not in _DATABASE_DRIVERS:
        raise SettingsError(
            f"{where} must be sqlite:///path or postgresql://… (psycopg 3), "
            f"not {parsed.drivername}://"
        )
    if parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        raise SettingsError(
            f"{where} names no SQLite file: a database in memory would be lost at exit, "
            "and each worker would have its own"
        )


_DATABASE_DRIVERS = {"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"}


def is_this_machine(host: str) -> bool:
    """A loopback name or address: traffic to it never leaves the machine."""
    if host.strip().lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False
