"""The five-minute demo: accounts to sign in with, and a local stand-in for the forces.

Only for a development instance: `ivr demo` refuses anywhere else. The accounts'
passwords are generated and printed once, when made (or remade with --reset).
A development instance (`ivr init-instance`) routes every force to a local test
force on 127.0.0.1 (`ivr demo-force`, ivr/cli/demo_force.py) and records, instead of
making, the Twilio request that brings a caller to a handler's phone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ivr.core.forces import ForceCatalogue
from ivr.core.routing import LOCAL_HOSTS, Route, Routes
from ivr.staff.accounts import create_user, find_user, generate_password, set_password

DEMO_FORCE_PORT = 8099
# Phones from Ofcom's range kept for drama (020 7946 0000-0999): nobody's real number.
DEMO_ACCOUNTS = (
    ("demo-handler", "handler", "020 7946 0001"),
    ("demo-supervisor", "supervisor", "020 7946 0002"),
    ("demo-admin", "admin", ""),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str | None  # None: it existed already, its password unchanged


def ensure_accounts(session: Session, reset: bool = False) -> list[DemoAccount]:
    """Create the demo accounts that do not exist (or give all new passwords, with `reset`)."""
    done = []
    for username, role, phone in DEMO_ACCOUNTS:
        existing = find_user(session, username)
        password = generate_password()
        if existing is None:
            create_user(session, username, role, password, phone)
        elif reset:
            set_password(session, existing, password)
            existing.active = True
        else:
            password = None
        done.append(DemoAccount(username, role, password))
    session.commit()
    return done


def local_routes(routes: Routes) -> list[Route]:
    """The forces whose reports go to this machine (a test force), not to a real one."""
    return [
        route
        for route in routes.routes.values()
        if route.channel == "https" and urlsplit(route.target).hostname in LOCAL_HOSTS
    ]


def routing_toml(forces: ForceCatalogue, port: int = DEMO_FORCE_PORT) -> str:
    """Settings sending every force's reports to the local test force, one shared secret."""
    secret = secrets.token_urlsafe(32)
    tables = [
        f'[routing.forces.{force_id}]\nurl = "http://127.0.0.1:{port}/{force_id}"\n'
        f'secret = "{secret}"\n'
        for force_id in forces.forces
    ]
    return "\n".join(tables)
