"""The `ivr` command line. Bad input or settings: one clear line and a non-zero exit."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import click
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.cli.demo import DEMO_FORCE_PORT
from ivr.core.contact import parse_phone
from ivr.core.private_files import private_folder, write_private_file
from ivr.core.routing import Routes
from ivr.core.settings import PROJECT_ROOT, Settings, SettingsError, load_settings
from ivr.models.staff import ROLES
from ivr.sim.twilio import Transport
from ivr.voice import urls
from ivr.voice.flows.catalogue import FlowCatalogue, FlowError


@click.group()
def cli() -> None:
    """The helpline: serve the webhooks and console, manage the database."""


@cli.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database to the latest schema (Alembic)."""
    from ivr.core.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    click.echo(f"database is up to date ({_safe_url(settings.database_url)})")


@cli.command("keys")
def keys() -> None:
    """Print a new contact-encryption key (IVR_CONTACT_KEY) and secret key (IVR_SECRET_KEY)."""
    click.echo(f"IVR_CONTACT_KEY={Fernet.generate_key().decode()}")
    click.echo(f"IVR_SECRET_KEY={secrets.token_urlsafe(48)}")


@cli.command("init-instance")
@click.option(
    "--demo-force-port",
    type=click.IntRange(1, 65535),
    default=DEMO_FORCE_PORT,
    show_default=True,
    help="Where the local test force listens (`make run` uses PORT+99).",
)
def init_instance(demo_force_port: int) -> None:
    """Write instance/local.toml with fresh secrets for a local run (never overwrites)."""
    instance = Path(os.environ.get("IVR_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    target = instance / "local.toml"
    if target.exists():
        click.echo(f"{target} exists; keeping it")
        return
    from ivr.cli.demo import routing_toml
    from ivr.core.forces import ForceCatalogue

    private_folder(instance)
    # 0600 from the moment it exists: the secrets are never readable by others, even briefly.
    write_private_file(
        target,
        "# Local development settings, made by `ivr init-instance`. Never commit this file.\n"
        "[web]\n"
        'environment = "development"\n'
        f'secret_key = "{secrets.token_urlsafe(48)}"\n\n'
        "[twilio]\n"
        f'auth_token = "{secrets.token_hex(16)}"\n'
        "# The number a handler's phone shows: the line's own (see call_flows/).\n"
        'caller_id = "+448000850000"\n\n'
        "[security]\n"
        f'contact_key = "{Fernet.generate_key().decode()}"\n\n'
        "[console]\n"
        "# No Twilio account here: taking a caller records the request instead of making it.\n"
        'call_gateway = "fake"\n\n'
        "# Every force's reports go to the local test force (`ivr demo-force`), never a real one.\n"
        + routing_toml(ForceCatalogue.load(_forces_file()), demo_force_port),
    )
    click.echo(f"wrote {target}")


@cli.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn, and say what to point a Twilio number at."""
    settings = load_settings()  # fail here, in one line, rather than in every worker
    base = settings.public_base_url or f"http://{bind}"
    click.echo("Point your Twilio number at:")
    click.echo(f"  A call comes in (Voice URL, POST): {base}{urls.INCOMING}")
    click.echo(f"  Primary handler fails (POST):      {base}{urls.FALLBACK}")
    click.echo(f"  Call status changes (POST):        {base}{urls.STATUS}")
    click.echo(f"Console for staff: {base}/console/")
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    # gunicorn replaces this process, so signals from make or systemd reach it directly.
    os.execv(  # noqa: S606
        gunicorn,
        [
            gunicorn,
            "--config",
            "python:ivr.gunicorn_conf",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "ivr.wsgi:app",
        ],
    )


@cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=None,
    help="Seconds between looks for due work [default: setting delivery.interval_seconds].",
)
def deliver(once: bool, interval: int | None) -> None:
    """Send approved reports to their forces until acknowledged (the outbox worker).

    Several may run at once on PostgreSQL; on SQLite run one.
    """
    from ivr.core.contact import ContactCipher
    from ivr.records.delivery import Deliverer, DeliverySettings, failing_deliveries

    settings = load_settings()
    sessions, engine = _sessions(settings.database_url)
    worker = Deliverer(
        sessions,
        _routes(settings),
        ContactCipher(settings.contact_key),
        DeliverySettings.from_settings(settings),
    )
    alert_after = timedelta(seconds=settings.delivery_alert_after_seconds)
    reported_late = 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                done = worker.run_once(stop=stop)
                with sessions() as session:
                    late = len(failing_deliveries(session, older_than=alert_after))
            except SQLAlchemyError as exc:
                # The database is away (restart, network): say so in one line, try again later.
                message = f"ivr deliver: {_db_error(exc)}"
                if once:
                    raise click.ClickException(message) from None
                click.echo(message, err=True)
                stop.wait(interval or settings.delivery_interval_seconds)
                continue
            if done.delivered or done.failed:
                click.echo(f"delivered {done.delivered}, failed {done.failed}")
            if late != reported_late:
                # Said when the number changes, not every round.
                click.echo(f"{late} deliveries failing for longer than {alert_after}", err=True)
                reported_late = late
            if once:
                break
            if not (done.delivered or done.failed):
                stop.wait(interval or settings.delivery_interval_seconds)
    finally:
        engine.dispose()


@cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; erase nothing.")
def purge_command(dry_run: bool) -> None:
    """Erase what has outlived the retention periods in the settings (run daily)."""
    from ivr.records.retention import purge

    settings = load_settings()
    sessions, engine = _sessions(settings.database_url)
    try:
        with sessions() as session:
            done = purge(
                session,
                settings.retention_call_days,
                settings.retention_contact_days,
                dry_run=dry_run,
            )
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb}: {done.calls} calls' details ({done.events} events), "
        f"{done.contacts} reports' contact details"
    )


@cli.command("routes")
def routes_command() -> None:
    """List each force's destination and how it is reached (secrets not shown)."""
    routes = _routes(load_settings())
    missing = 0
    for force in routes.forces.forces.values():
        route = routes.routes.get(force.id)
        how = f"{route.channel} {route.target}" if route else "NOT CONFIGURED"
        missing += route is None
        click.echo(f"{force.id:28} {force.destination:36} {how}")
    if routes.fallback_force:
        click.echo(f"unknown force -> {routes.fallback_force}")
    if missing:
        click.echo(f"{missing} forces have no destination configured", err=True)


def _db_error(exc: SQLAlchemyError) -> str:
    """One line naming the database's complaint (never the SQL or its parameters)."""
    return f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"


def _sessions(url: str) -> tuple[sessionmaker[Session], Engine]:
    from ivr.core.db import make_engine

    engine = make_engine(url)
    return sessionmaker(engine, expire_on_commit=False), engine


def _routes(settings: Settings) -> Routes:
    from ivr.core.forces import ForceCatalogue

    return Routes.load(settings, ForceCatalogue.load(settings.config_dir / "forces.toml"))


@cli.command("call")
@click.option(
    "--line", default="", help="The number dialled (To), or a line's name in call_flows/."
)
@click.option(
    "--from",
    "from_number",
    default="+447911123456",
    show_default=True,
    help="The number the caller rings from (From).",
)
@click.option(
    "--url",
    default="",
    help="A running server, e.g. http://127.0.0.1:8000; without it the app runs in this process.",
)
@click.option(
    "--keys",
    default=None,
    help='Answers in order, e.g. "1,0,1,,say: the Met" (an empty answer is silence).',
)
@click.option(
    "--answers",
    "answers_file",
    type=click.File("r"),
    default=None,
    help="A file of answers, one a line (an empty line is silence).",
)
def call(
    line: str, from_number: str, url: str, keys: str | None, answers_file: TextIO | None
) -> None:
    """Ring the line without a phone: hear each prompt, answer with keys or words.

    Without --keys or --answers you answer at each menu on the keyboard: keys
    (0-9, * and #), Enter alone for silence, or `say: words` to speak.
    """
    from ivr.sim.ring import CallScriptError, Ring, Script, keyboard, script_answers
    from ivr.sim.twilio import LineDown, SimulatedCall, TwimlError

    settings = load_settings()
    flows = FlowCatalogue.load(settings.flows_dir)
    dialled = _dialled_number(flows, line)
    caller = parse_phone(from_number)
    if caller is None:
        raise click.ClickException(f"--from {from_number!r} is not a phone number")
    script = None
    if keys is not None or answers_file is not None:
        items = keys.split(",") if keys is not None else []
        if answers_file is not None:
            items += [ln.rstrip("\n") for ln in answers_file if not ln.startswith("//")]
        try:
            script = Script(script_answers(items))
        except CallScriptError as exc:
            raise click.ClickException(str(exc)) from None
    transport, base_url = _transport(settings, url)
    ring = Ring(
        call=SimulatedCall(
            transport=transport,
            auth_token=settings.twilio_auth_token,
            base_url=base_url,
            to_number=dialled,
            from_number=caller,
            from_city="",
        ),
        ask=script or keyboard(input, click.echo),
        say=click.echo,
        scripted=script is not None,
        gave_up_texts=tuple(
            text
            for flow in flows.flows.values()
            for prompts in flow.prompts.values()
            if (text := prompts.get("notice.gave_up"))
        ),
        hold=(lambda: None) if script else _hold,
    )
    where = url or "the app in this process"
    try:
        ending = ring.run()
    except LineDown as exc:
        raise click.ClickException(f"the line is down: {exc} (is the server running?)") from None
    except TwimlError as exc:
        if exc.status == 403:
            raise click.ClickException(
                f"{where} refused the call's signature (HTTP 403): sign with the server's "
                "TWILIO_AUTH_TOKEN, and give --url as the address the server calls its own "
                "(PUBLIC_BASE_URL)"
            ) from None
        raise click.ClickException(f"invalid TwiML from {ring.call.last_url}: {exc}") from None
    except CallScriptError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"call over after about {ending.seconds} s: {ending.summary}")
    if script is not None:
        if ending.how == "line_hung_up":
            raise click.ClickException(f"the line hung up on the caller at step {ending.step}")
        if script.left:
            raise click.ClickException(
                f"the call ended ({ending.summary}) with {len(script.left)} answers unused"
            )


def _dialled_number(flows: FlowCatalogue, line: str) -> str:
    if not line:
        default = flows.for_number(None)
        return default.numbers[0] if default.numbers else "+448000850000"
    if line in flows.flows:
        numbers = flows.flows[line].numbers
        if not numbers:
            raise click.ClickException(f"line {line!r} has no numbers in its flow.toml")
        return numbers[0]
    number = parse_phone(line)
    if number is None:
        raise click.ClickException(
            f"--line {line!r} is neither a phone number nor a line in call_flows/ "
            f"({', '.join(sorted(flows.flows))})"
        )
    return number


def _transport(settings: Settings, url: str) -> tuple[Transport, str]:
    """Over HTTP to a server at `url`, or through the app built in this process."""
    from ivr.sim.twilio import flask_transport, http_transport

    if url:
        if not url.startswith(("http://", "https://")):
            raise click.ClickException(f"--url {url!r} must start with http:// or https://")
        return http_transport(), url.rstrip("/") + "/"
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from ivr import create_app
    from ivr.core.db import get_engine

    app = create_app()
    _quiet_server_logs()
    try:
        migrated = inspect(get_engine(app)).has_table("calls")
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot open the database ({_safe_url(settings.database_url)}): "
            f"{str(exc.orig or exc).splitlines()[0]}"
        ) from None
    if not migrated:
        raise click.ClickException(
            f"the database ({_safe_url(settings.database_url)}) has no tables yet: "
            "run `ivr db upgrade` (or `make run`) first"
        )
    # The app checks signatures against the public URL, so sign that one.
    base = settings.public_base_url.rstrip("/") or "http://localhost"
    return flask_transport(app.test_client()), base + "/"


class _OneLine(logging.Formatter):
    """The in-process server's log lines, without tracebacks: a CLI never shows one."""

    def formatException(self, ei: object) -> str:  # noqa: N802 (logging's name)
        return ""


def _quiet_server_logs() -> None:
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:  # the terminal, not a test's capture
            handler.setFormatter(_OneLine("   (server: %(levelname)s %(message)s)"))


def _hold() -> None:
    with contextlib.suppress(EOFError):
        input("   (holding in the queue: press Enter to hang up) ")


@cli.group()
def flows() -> None:
    """Check and draw the call flows in call_flows/."""


def _flows_dir() -> Path:
    return Path(os.environ.get("IVR_FLOWS_DIR", PROJECT_ROOT / "call_flows"))


def _forces_file() -> Path:
    return Path(os.environ.get("IVR_CONFIG_DIR", PROJECT_ROOT / "config")) / "forces.toml"


@flows.command("check")
@click.option("--flows-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Default: call_flows/ (IVR_FLOWS_DIR).")  # fmt: skip
@click.option("--forces", "forces_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Default: config/forces.toml (IVR_CONFIG_DIR).")  # fmt: skip
def flows_check(flows_dir: Path | None, forces_file: Path | None) -> None:
    """Fail with one line per problem found in any flow (CI runs this)."""
    from ivr.core.forces import ForceCatalogue
    from ivr.voice.flows.check import check_flows, keypad_paths

    flows_dir = flows_dir or _flows_dir()
    forces_file = forces_file or _forces_file()
    if not flows_dir.is_dir():
        raise click.ClickException(f"{flows_dir} is not a folder of call flows")
    try:
        forces = ForceCatalogue.load(forces_file)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{forces_file}: cannot read the force list ({exc})") from None
    problems = check_flows(flows_dir, forces)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    catalogue = FlowCatalogue.load(flows_dir)
    for flow in catalogue.flows.values():
        for language, path in keypad_paths(flow).items():
            click.echo(
                f"{flow.id}: ok; shortest keypad path to the queue in {language}: "
                f"{path.seconds:.0f} s ({path.words} words, keys {' '.join(path.keys)})"
            )


@flows.command("draw")
@click.argument("line")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The SVG file to write (default: LINE.svg).")  # fmt: skip
@click.option("--language", default=None, help="The language of the words (default: the first).")
def flows_draw(line: str, output: Path | None, language: str | None) -> None:
    """Draw LINE's flow (a folder name in call_flows/, or one of its numbers) as SVG."""
    from ivr.voice.flows.diagram import flow_svg

    catalogue = FlowCatalogue.load(_flows_dir())
    flow = catalogue.flows.get(line)
    if flow is None:
        number = parse_phone(line)
        flow = next((f for f in catalogue.flows.values() if number in f.numbers), None)
    if flow is None:
        raise click.ClickException(
            f"no line {line!r}: give one of {', '.join(sorted(catalogue.flows))} or its number"
        )
    if language is not None and language not in flow.languages:
        raise click.ClickException(
            f"line {flow.id} has no language {language!r} (it has {', '.join(flow.languages)})"
        )
    output = output or Path(f"{flow.id}.svg")
    try:
        output.write_text(flow_svg(flow, language), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({len(flow.steps)} steps)")


@cli.group()
def user() -> None:
    """Staff accounts for the console."""


@contextlib.contextmanager
def _database() -> Iterator[Session]:
    from ivr.core.db import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--phone", default="", help="The phone a handler takes calls on (UK or +44...).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Make up a password and print it once.")
def user_add(name: str, role: str, phone: str, password_stdin: bool, generate: bool) -> None:
    """Add a user. Without --password-stdin or --generate, asks for the password."""
    from ivr.staff.accounts import AccountError, create_user, generate_password

    if password_stdin and generate:
        raise click.UsageError("choose --password-stdin or --generate, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif generate:
        password = generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _database() as session:
        try:
            created = create_user(session, name, role, password, phone)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(f"added {created.username} ({created.role})")
    if generate:
        click.echo(f"password: {password}")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable a user: they cannot sign in, and their open sessions end."""
    from ivr.staff.accounts import find_user, set_active

    with _database() as session:
        found = find_user(session, name)
        if found is None:
            raise click.ClickException(f"no user called {name!r}")
        set_active(session, found, False)
        session.commit()
        click.echo(f"disabled {found.username}")


@cli.command("demo")
@click.option("--reset", is_flag=True, help="Give the demo accounts new passwords.")
@click.option(
    "--if-development",
    is_flag=True,
    help="Outside development do nothing and succeed (for `make run`).",
)
def demo(reset: bool, if_development: bool) -> None:
    """Demo accounts (handler, supervisor, admin), passwords printed once. Development only."""
    from ivr.cli.demo import DEMO_FORCE_PORT, ensure_accounts, local_routes, routing_toml

    settings = load_settings()
    if not settings.is_development:
        if if_development:
            return
        raise click.ClickException(
            "ivr demo makes accounts with known roles and printed passwords: it runs only "
            f"when environment (IVR_WEB_ENVIRONMENT) is development, not {settings.environment}"
        )
    sessions, engine = _sessions(settings.database_url)
    try:
        with sessions() as session:
            accounts = ensure_accounts(session, reset=reset)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"{_db_error(exc)} (has `ivr db upgrade` been run?)") from None
    finally:
        engine.dispose()
    made = [a for a in accounts if a.password]
    if made:
        click.echo("Demo accounts for the console (the passwords are shown only now):")
        for account in made:
            click.echo(f"  {account.username:16} {account.role:11} password: {account.password}")
    kept = [a.username for a in accounts if not a.password]
    if kept:
        click.echo(
            f"Demo accounts {', '.join(kept)} exist: their passwords were printed when they "
            "were made (`ivr demo --reset` gives new ones)."
        )
    routes = _routes(settings)
    local = local_routes(routes)
    if local:
        port = urlsplit(local[0].target).port
        click.echo(
            f"Approved reports for {len(local)} forces go to a local test force on "
            f"127.0.0.1:{port}: run `ivr demo-force` to see them arrive."
        )
    else:
        click.echo(
            "No force's reports go to this machine. To follow a report to a local test force, "
            "add this to instance/local.toml, restart, and run `ivr demo-force`:\n"
        )
        click.echo(routing_toml(routes.forces, DEMO_FORCE_PORT))
    if settings.call_gateway != "fake":
        click.echo(
            "Taking a caller asks Twilio to ring the handler: without Twilio, set "
            'call_gateway = "fake" under [console] in instance/local.toml '
            "(or IVR_CONSOLE_CALL_GATEWAY=fake)."
        )


@cli.command("demo-force")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Default: the port the settings route forces to.")  # fmt: skip
def demo_force(port: int | None) -> None:
    """A local test force: receives approved reports, checks their signatures, prints them."""
    from ivr.cli.demo import local_routes
    from ivr.cli.demo_force import make_server

    routes = _routes(load_settings())
    local = local_routes(routes)
    if not local:
        raise click.ClickException(
            "no force's reports are routed to 127.0.0.1: `ivr demo` prints the settings to add"
        )
    if port is None:
        port = urlsplit(local[0].target).port or 80
    try:
        server = make_server(routes, port, lambda line: click.echo(line))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    click.echo(
        f"Local test force on http://127.0.0.1:{server.server_port}/ for {len(local)} forces; "
        "Ctrl-C stops it."
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    try:
        cli.main(prog_name="ivr")
    except (SettingsError, FlowError) as exc:
        click.echo(f"ivr: {exc}", err=True)
        sys.exit(1)
