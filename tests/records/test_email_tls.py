"""E-mail delivery never crosses a network in clear: STARTTLS, with the server's certificate
checked, unless the SMTP server is on this machine. Real SMTP servers (aiosmtpd) on this
machine's network address, which is not loopback, stand in for a remote relay."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ivr.core.settings import SettingsError, is_this_machine, load_settings
from ivr.records.delivery import Deliverer, DeliverySettings
from ivr.records.review import approve
from tests.records.conftest import delivery_settings, free_port, make_report, make_user, routes_to


def _network_address() -> str:
    """This machine's address on its network (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            address = sock.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("this machine has no network address besides loopback")
    return address


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Any, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope, session.ssl is not None))
        return "250 Message accepted for delivery"


def _certificate(tmp_path: Path, address: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test mail relay")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[str, int, Mailbox, Path]]:
    """A mail relay on the network address that offers STARTTLS (and requires it)."""
    address = _network_address()
    cert_path, key_path = _certificate(tmp_path, address)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname=address, port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield address, port, mailbox, cert_path
    controller.stop()


@pytest.fixture
def plain_relay() -> Iterator[tuple[str, int, Mailbox]]:
    """A mail relay on the network address that offers no STARTTLS."""
    address = _network_address()
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname=address, port=port)
    controller.start()
    yield address, port, mailbox
    controller.stop()


def _deliver(sessions, session, forces, cipher, clock, settings: DeliverySettings):
    routes = routes_to(forces, {"kent": ("email", "psd@kent.example")})
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    return Deliverer(sessions, routes, cipher, settings, clock).run_once()


def test_a_remote_server_without_starttls_gets_no_report(
    sessions, session, forces, cipher, clock, plain_relay
):
    address, port, mailbox = plain_relay
    settings = delivery_settings(smtp_host=address, smtp_port=port, smtp_starttls=False)
    done = _deliver(sessions, session, forces, cipher, clock, settings)
    assert (done.delivered, done.failed) == (0, 1)
    assert mailbox.messages == []  # never sent in plain text; retried later


def test_a_remote_server_gets_the_report_over_starttls_its_certificate_checked(
    sessions, session, forces, cipher, clock, relay
):
    address, port, mailbox, cert_path = relay
    settings = delivery_settings(
        smtp_host=address, smtp_port=port, smtp_starttls=True, smtp_ca_file=str(cert_path)
    )
    done = _deliver(sessions, session, forces, cipher, clock, settings)
    assert done.delivered == 1
    ((envelope, over_tls),) = mailbox.messages
    assert over_tls and envelope.rcpt_tos == ["psd@kent.example"]


def test_a_certificate_that_does_not_check_gets_no_report(
    sessions, session, forces, cipher, clock, relay
):
    address, port, mailbox, _cert_path = relay  # its CA not given: not trusted
    settings = delivery_settings(smtp_host=address, smtp_port=port, smtp_starttls=True)
    done = _deliver(sessions, session, forces, cipher, clock, settings)
    assert (done.delivered, done.failed) == (0, 1) and mailbox.messages == []


def test_settings_refuse_plain_smtp_to_another_machine():
    environ = {
        "TWILIO_AUTH_TOKEN": "t",
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": "A" * 43 + "=",
    }
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.53"):
        assert load_settings(environ={**environ, "IVR_SMTP_HOST": host}).smtp_host == host
    remote = {**environ, "IVR_SMTP_HOST": "mail.charity.example"}
    with pytest.raises(SettingsError, match=r"smtp_starttls \(IVR_SMTP_STARTTLS\) must be true"):
        load_settings(environ=remote)
    assert load_settings(environ={**remote, "IVR_SMTP_STARTTLS": "true"}).smtp_starttls
    assert not is_this_machine("10.0.0.5") and not is_this_machine("mail.example")
