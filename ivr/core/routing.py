"""Where each force's reports go: signed JSON over HTTPS, or e-mail.

forces.toml names each force's destination (its Professional Standards
Department; the Met's Anti-Corruption and Abuse Command). How to reach it comes
from the settings: a `[routing.forces.<id>]` table (best in instance/local.toml)
with `url` and `secret`, or `email`; each value can be set or overridden by the
environment as IVR_ROUTE_<ID>_URL, _SECRET, _EMAIL (the id in capitals, "-" as "_").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ivr.core.forces import ForceCatalogue
from ivr.core.settings import Settings, SettingsError
from ivr.models import Channel

MIN_SECRET_LENGTH = 32
# Plain http is accepted only towards this machine: a test server standing in for a force.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class RoutingError(Exception):
    """A report cannot be routed; the message says why, for a supervisor."""


@dataclass(frozen=True)
class Route:
    force_id: str
    force_name: str
    destination_name: str  # e.g. "Professional Standards Department"
    channel: Channel
    target: str  # the URL or the e-mail address
    secret: str  # HMAC-SHA256 key (required for https; signs e-mail when given)

    @property
    def description(self) -> str:
        """To whom, for audit entries and the console: "Kent Police Professional Standards…"."""
        return f"{self.force_name} {self.destination_name}"


def env_prefix(force_id: str) -> str:
    return "IVR_ROUTE_" + force_id.upper().replace("-", "_")


class Routes:
    def __init__(
        self, forces: ForceCatalogue, routes: dict[str, Route], fallback_force: str = ""
    ) -> None:
        self.forces = forces
        self.routes = routes
        self.fallback_force = fallback_force

    @classmethod
    def load(
        cls,
        settings: Settings,
        forces: ForceCatalogue,
        environ: Mapping[str, str] | None = None,
    ) -> Routes:
        """Read every force's transport; a malformed one raises SettingsError (one line)."""
        environ = os.environ if environ is None else environ
        table: dict[str, Any] = settings.extra.get("routing", {}).get("forces", {})
        for force_id in table:
            if force_id not in forces.forces:
                raise SettingsError(f"routing.forces.{force_id} is not a force in forces.toml")
        routes: dict[str, Route] = {}
        for force in forces.forces.values():
            given = dict(table.get(force.id, {}))
            for key in ("url", "secret", "email"):
                env_name = f"{env_prefix(force.id)}_{key.upper()}"
                if env_name in environ:
                    given[key] = environ[env_name]
            route = _route(force.id, force.name, force.destination, given)
            if route is not None:
                routes[force.id] = route
        fallback = settings.routing_fallback_force
        if fallback and fallback not in forces.forces:
            raise SettingsError(
                "setting routing_fallback_force (IVR_ROUTING_FALLBACK_FORCE) "
                f"is not a force in forces.toml: {fallback!r}"
            )
        return cls(forces, routes, fallback)

    def for_force(self, force_id: str) -> Route:
        """The route of a force, or the fallback's for an unknown force; RoutingError if none."""
        wanted = force_id if force_id in self.forces.forces else ""
        if not wanted:
            if not self.fallback_force:
                raise RoutingError(
                    "A subject's force is not known and no fallback force is set: "
                    "name the force before approving."
                )
            wanted = self.fallback_force
        route = self.routes.get(wanted)
        if route is None:
            raise RoutingError(
                f"{self.forces.name(wanted)} has no destination configured "
                f"(routing.forces.{wanted} in the settings, or {env_prefix(wanted)}_URL): "
                "ask an administrator."
            )
        return route


def _route(force_id: str, name: str, destination: str, given: dict[str, Any]) -> Route | None:
    where = f"routing.forces.{force_id} ({env_prefix(force_id)}_*)"
    url = str(given.get("url", "")).strip()
    email = str(given.get("email", "")).strip()
    secret = str(given.get("secret", "")).strip()
    if url and email:
        raise SettingsError(f"{where} has both url and email: choose one")
    if url:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (reading it checks it: "https://x:abc" is refused)
        except ValueError as exc:
            raise SettingsError(f"{where} url is not a URL ({exc}): {url!r}") from None
        local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
        if parts.scheme != "https" and not local:
            raise SettingsError(f"{where} url must start with https://, not {url!r}")
        if len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"{where} needs a secret of at least {MIN_SECRET_LENGTH} characters "
                "to sign what it sends"
            )
        return Route(force_id, name, destination, Channel.HTTPS, url, secret)
    if email:
        if "@" not in email or any(ch.isspace() for ch in email):
            raise SettingsError(f"{where} email is not an e-mail address: {email!r}")
        return Route(force_id, name, destination, Channel.EMAIL, email, secret)
    return None
