"""`ivr call`: ring the line without a phone (the simulator, ivr/sim/ring.py)."""

from __future__ import annotations

import contextlib
import logging
from typing import TextIO

import click

from ivr.cli.common import database_errors, safe_url
from ivr.core.contact import parse_phone
from ivr.core.settings import Settings, load_settings
from ivr.sim.twilio import Transport
from ivr.voice import urls
from ivr.voice.flows.catalogue import FlowCatalogue


@click.command("call")
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
            voice_url=urls.INCOMING,
            status_callback=urls.STATUS,
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
        default = flows.default
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

    from ivr import create_app
    from ivr.core.db import get_engine

    app = create_app()
    _quiet_server_logs()
    with database_errors(settings.database_url):
        migrated = inspect(get_engine(app)).has_table("calls")
    if not migrated:
        raise click.ClickException(
            f"the database ({safe_url(settings.database_url)}) has no tables yet: "
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
