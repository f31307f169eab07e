"""`ivr call`: a simulated call in this process, and over HTTP against a real gunicorn server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ivr.cli import cli
from ivr.core.db import normalise_url
from ivr.core.settings import PROJECT_ROOT
from ivr.models import Call, CallEvent
from ivr.sim.walks import Answers, keys_to_queue, keys_until

AUTH_TOKEN = "call-test-token-0123456789abcdef"
IVR = str(Path(sys.executable).with_name("ivr"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# English; an officer; force not sure; bribery; no risk; anonymous (keys from the flow)
ENGLISH_TO_QUEUE = ",".join(keys_to_queue(Answers(force="unknown")))
TO_RISK = ",".join(keys_until("risk", Answers(force="unknown")))
WELSH_FIRST = Answers(language="cy", force="north-wales", urgent=True)


@pytest.fixture
def call_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The settings of both the server and `ivr call`, from the environment only."""
    return {
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_CALLS_CHECK_STAFFING": "false",
        "IVR_WEB_ENVIRONMENT": "production",
        "IVR_INSTANCE_DIR": str(tmp_path / "instance"),  # no local.toml to read
        "PUBLIC_BASE_URL": "",
    }


def calls(database_url: str) -> list[Call]:
    engine = create_engine(normalise_url(database_url))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Call).order_by(Call.id)))
    finally:
        engine.dispose()


def events(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(normalise_url(database_url))
    try:
        with Session(engine) as session:
            rows = session.scalars(select(CallEvent).order_by(CallEvent.call_id, CallEvent.seq))
            return [(e.step, e.outcome) for e in rows]
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ in process
def test_a_scripted_call_in_process_reaches_the_queue(call_env, database_url):
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", ENGLISH_TO_QUEUE])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[Polly.Gwyneth cy-GB] Cymraeg, 2." in out
    assert "free, independent, not the police" in out
    assert "Are you reporting an officer, 1;" in out and "Is it bribery, 1;" in out
    assert "You are number 1 in the queue." in out
    assert "in the queue 'helpline' (place 1), then hung up" in out
    assert "status callback sent: completed" in out
    (call,) = calls(database_url)
    # The status callback ended the call: it was in the queue when the caller hung up.
    assert (call.status, call.outcome, call.language, call.force) == (
        "ended",
        "left_queue",
        "en",
        "unknown",
    )
    # About a minute of prompts now (docs/call-flow.md), kept to the 10-second step.
    assert call.duration_seconds and call.duration_seconds >= 30


def test_an_interactive_call_hears_silence_words_and_a_welsh_read_back(call_env, database_url):
    # Welsh; silence at the role question, then an officer; Gwent said; that's right;
    # not sure of the category nor of the risk; anonymous
    typed = "\n".join(["2", "", "1", "say: Heddlu Gwent", "1", "9", "9", "1", "", ""])
    result = CliRunner(env=call_env).invoke(cli, ["call"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "(silence)" in out
    assert "Mae'n ddrwg gen i, chlywais i ddim dewis." in out  # the timeout path re-prompts
    assert "Clywais i: Gwent." in out
    assert "in the queue 'helpline' (place 1)" in out
    (call,) = calls(database_url)
    assert (call.language, call.force, call.answers["urgent"]) == ("cy", "gwent", "unknown")
    assert (call.role, call.category) == ("officer", "unknown")


def test_a_caller_who_stops_answering_hangs_up_and_the_call_is_abandoned(call_env, database_url):
    result = CliRunner(env=call_env).invoke(cli, ["call"], input="1\n")
    assert result.exit_code == 0, result.output
    assert "the caller hung up at step role" in result.stdout
    (call,) = calls(database_url)
    assert (call.outcome, call.abandoned_step) == ("abandoned", "role")


def test_a_typo_at_the_keyboard_is_asked_again(call_env):
    result = CliRunner(env=call_env).invoke(cli, ["call"], input="x\n1\n")
    assert result.exit_code == 0, result.output
    assert "'x' is not an answer" in result.stdout
    assert "free, independent, not the police" in result.stdout


def test_answers_from_a_file(call_env, tmp_path):
    script = tmp_path / "answers.txt"
    script.write_text(
        "// English, then the keypad to the queue\n" + ENGLISH_TO_QUEUE.replace(",", "\n")
    )
    result = CliRunner(env=call_env).invoke(cli, ["call", "--answers", str(script)])
    assert result.exit_code == 0, result.output
    assert "in the queue 'helpline'" in result.stdout


def test_a_key_refused_more_often_than_the_flow_allows_fails_in_one_line(call_env, database_url):
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", TO_RISK + ",5,5,5"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: key '5' was refused at step risk more often than the flow allows "
        "(it gave up and moved on)"
    ]
    # The call it stopped in is ended (status callback), not left "in flow" for ever.
    (call,) = calls(database_url)
    assert (call.status, call.outcome, call.abandoned_step) == ("ended", "abandoned", "anonymity")


def test_a_refused_key_within_what_the_flow_allows_is_fine(call_env):
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", TO_RISK + ",5,2,1"])
    assert result.exit_code == 0, result.output
    assert "Sorry, that key is not one of the choices." in result.stdout


def test_answers_left_over_fail(call_env):
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", ENGLISH_TO_QUEUE + ",5"])
    assert result.exit_code == 1
    assert "with 1 answers unused" in result.stderr


def test_bad_arguments_get_one_clear_line(call_env):
    runner = CliRunner(env=call_env)
    for args, expected in [
        (["--line", "not a number"], "--line 'not a number' is neither a phone number nor a line"),
        (["--from", "12"], "--from '12' is not a phone number"),
        (["--keys", "1,x"], "answer 2: 'x' is not an answer"),
        (["--url", "ftp://x"], "--url 'ftp://x' must start with http:// or https://"),
    ]:
        result = runner.invoke(
            cli, ["call", *args, "--keys", "1"] if "--keys" not in args else ["call", *args]
        )
        assert result.exit_code == 1, (args, result.output)
        assert len(result.stderr.splitlines()) == 1
        assert expected in result.stderr


def test_an_unmigrated_database_is_named(call_env, tmp_path):
    env = {**call_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner(env=env).invoke(cli, ["call", "--keys", "1"])
    assert result.exit_code == 1
    assert "has no tables yet: run `ivr db upgrade`" in result.stderr


# ------------------------------------------------------------ a real server
@pytest.fixture
def server(call_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """gunicorn with two workers on a free port, configured by the environment."""
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [GUNICORN, "--config", "python:ivr.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "ivr.wsgi:app"],
        env={**os.environ, **call_env},
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)
    log.close()


def ivr_call(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IVR, "call", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_scripted_calls_against_gunicorn(server, call_env, database_url):
    english = ivr_call(call_env, "--url", server, "--keys", ENGLISH_TO_QUEUE)
    assert english.returncode == 0, english.stderr
    assert "in the queue 'helpline' (place 1), then hung up" in english.stdout
    # The Welsh-first number: Welsh from the first word, straight to the welcome.
    welsh_keys = ",".join(keys_to_queue(WELSH_FIRST, start="welcome"))
    welsh = ivr_call(call_env, "--url", server, "--line", "0800 085 0001", "--keys", welsh_keys)
    assert welsh.returncode == 0, welsh.stderr
    assert "[Polly.Gwyneth cy-GB] Llinell gwrth-lygredd a cham-drin yr heddlu" in welsh.stdout
    assert "Polly.Amy" not in welsh.stdout
    # Ids are drawn at random (ivr/models/calls.py): the two calls are told by language.
    welsh_call, english_call = sorted(calls(database_url), key=lambda call: call.language)
    assert (english_call.language, english_call.status) == ("en", "ended")
    assert (welsh_call.language, welsh_call.force, welsh_call.urgent) == (
        "cy",
        "north-wales",
        True,
    )
    assert ("language", "chose") in events(database_url)


def test_a_refused_key_and_a_wrong_token_against_gunicorn(server, call_env):
    refused = ivr_call(call_env, "--url", server, "--keys", TO_RISK + ",5,5,5")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "Error: key '5' was refused at step risk more often than the flow allows "
        "(it gave up and moved on)"
    ]
    forged = ivr_call({**call_env, "TWILIO_AUTH_TOKEN": "x" * 32}, "--url", server, "--keys", "1")
    assert forged.returncode == 1
    (line,) = forged.stderr.splitlines()
    assert "refused the call's signature (HTTP 403)" in line


@pytest.fixture
def client_env(tmp_path: Path) -> dict[str, str]:
    """Settings for `ivr call --url` alone (no database of its own is touched)."""
    return {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_CALLS_CHECK_STAFFING": "false",
        "IVR_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
    }


def test_a_server_that_is_down(client_env):
    result = ivr_call(client_env, "--url", f"http://127.0.0.1:{free_port()}", "--keys", "1")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: the line is down: cannot reach http://127.0.0.1:")
    assert line.endswith("(is the server running?)")


@pytest.fixture
def bad_twiml_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = b'<?xml version="1.0" encoding="UTF-8"?><Response><Sya>Hi</Sya></Response>'
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_invalid_twiml_fails_in_one_line(bad_twiml_server, client_env):
    result = ivr_call(client_env, "--url", bad_twiml_server, "--keys", "1")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: invalid TwiML from {bad_twiml_server}/voice/incoming: <Sya> is not a TwiML verb"
    ]


def test_a_line_that_hangs_up_on_a_scripted_caller_fails_without_a_traceback(
    call_env, sqlite_template, tmp_path
):
    broken = tmp_path / "broken.db"
    shutil.copy(sqlite_template, broken)
    with sqlite3.connect(broken) as db:
        db.execute("DROP TABLE call_events")  # every answer now fails inside the webhook
    env = {**call_env, "DATABASE_URL": f"sqlite:///{broken}"}
    result = CliRunner(env=env).invoke(cli, ["call", "--keys", ENGLISH_TO_QUEUE])
    assert result.exit_code == 1
    assert "Sorry, we have a technical problem." in result.stdout
    assert result.stderr.splitlines()[-1] == (
        "Error: the line hung up on the caller at step language"
    )
    assert "Traceback" not in result.output


def test_a_scripted_caller_can_speak_a_force(call_env, database_url):
    to_force = ",".join(keys_until("force"))  # English, an officer
    after = ",".join(keys_to_queue(start="category"))  # bribery, nobody at risk, anonymous
    keys = f"{to_force},say: it was the Met,1,{after}"  # "the Met"; yes, that's right
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", keys])
    assert result.exit_code == 0, result.output
    assert "I heard Metropolitan Police Service." in result.stdout
    (call,) = calls(database_url)
    assert call.force == "metropolitan"


def test_the_readme_demo_call_is_true_to_the_flow(call_env, database_url):
    """The keys of the README's five-minute demo (step 1) reach the queue with the
    answers the README says the handler will see: a menu added or moved breaks this."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    keys = re.search(r'--keys "([^"]+)"', readme.split("## Five-minute demo", 1)[1])
    assert keys is not None, "the README's demo no longer scripts its keys"
    result = CliRunner(env=call_env).invoke(cli, ["call", "--keys", keys.group(1)])
    assert result.exit_code == 0, result.output
    assert "number 1 in the queue" in result.stdout
    (call,) = calls(database_url)
    assert (call.language, call.role, call.force, call.category) == (
        "en",
        "officer",
        "metropolitan",
        "bribery",
    )
    assert (call.urgent, call.anonymous) == (False, True)
