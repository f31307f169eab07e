"""The production stack for tests: the nginx site from deploy/ in front of `ivr serve`.

The site is the shipped file with only what must differ on a test machine filled in
(ports, a throwaway self-signed certificate, log paths), each replacement checked, so
a change to the shipped site is a change to what these tests run. nginx runs as a
child process with its own prefix, pid file and logs in a temporary folder.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live_server import ROOT, free_port, wait_until_serving

SITE = ROOT / "deploy" / "nginx" / "helpline.conf"
IVR = str(Path(sys.executable).with_name("ivr"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# What Debian's /etc/nginx/nginx.conf puts around every site (its http block), so the
# site is tested where it will live: among others, an access log in the "combined"
# format (with the client's address), which the site must override.
MAIN_CONF = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/main-error.log;
events {{ worker_connections 256; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {tmp}/debian-access.log;
    gzip on;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/helpline.conf;
}}
"""


def nginx_available() -> bool:
    return Path(NGINX).exists()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and localhost; returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "helpline test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render_site(
    tmp: Path, https_port: int, http_port: int, app_ports: tuple[int, ...], cert: Path, key: Path
) -> str:
    """The shipped site with this machine's ports, certificate and log folder; with more
    than one app port, nginx balances between them (round-robin, its default)."""
    text = SITE.read_text()
    servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in app_ports)
    replacements = [
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("server_name helpline.example.org;", "server_name 127.0.0.1 localhost;"),
        ("/etc/letsencrypt/live/helpline.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/helpline.example.org/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{tmp}/"),
        ("server 127.0.0.1:8000;", servers),
    ]
    for old, new in replacements:
        assert old in text, f"the shipped nginx site no longer has {old!r}"
        text = text.replace(old, new)
    return text


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    # Generous: on a machine loaded 15 deep, starting gunicorn has taken over 30 s.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} after {timeout} s: {log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def ivr_serve(env: dict[str, str], log_path: Path, workers: int = 2) -> Iterator[int]:
    """`ivr serve` (which execs gunicorn with ivr/gunicorn_conf.py) on a free port."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [IVR, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", process, log_path)
            yield port
        finally:
            _stop(process)


@dataclass
class Proxy:
    url: str  # https://127.0.0.1:PORT
    http_url: str  # http://127.0.0.1:PORT (redirects only)
    cert: Path
    access_log: Path
    error_log: Path
    debian_access_log: Path
    site: str


@contextmanager
def nginx(tmp: Path, https_port: int, *app_ports: int) -> Iterator[Proxy]:
    """The shipped site on https://127.0.0.1:https_port, in front of 127.0.0.1:app_port
    (or several app servers)."""
    tmp.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(tmp)
    http_port = free_port()
    site = render_site(tmp, https_port, http_port, app_ports, cert, key)
    (tmp / "helpline.conf").write_text(site)
    (tmp / "nginx.conf").write_text(MAIN_CONF.format(tmp=tmp))
    log_path = tmp / "nginx-stderr.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "startup.log")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(https_port, process, log_path)
            yield Proxy(
                url=f"https://127.0.0.1:{https_port}",
                http_url=f"http://127.0.0.1:{http_port}",
                cert=cert,
                access_log=tmp / "helpline-access.log",
                error_log=tmp / "helpline-error.log",
                debian_access_log=tmp / "debian-access.log",
                site=site,
            )
        finally:
            _stop(process)
