"""Debian's nginx and Caddy in front of a live facegate, on the configurations of deploy/ as
docs/deploy.md shows them: only the addresses, ports and certificate paths are replaced. And a
throw-away TLS certificate, and a stand-in for Authelia's verdict endpoint."""

from __future__ import annotations

import datetime
import getpass
import http.server
import ipaddress
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import REPO
from tests.support.services import unavailable

DEPLOY = REPO / "deploy"
# What the shipped files name and a test replaces: where the certificate is, and the ports.
CERTIFICATE = "/etc/letsencrypt/live/facegate.example.org/fullchain.pem"
PRIVATE_KEY = "/etc/letsencrypt/live/facegate.example.org/privkey.pem"
FACEGATE_ADDRESS = "127.0.0.1:8000"
AUTHELIA_ADDRESS = "127.0.0.1:9091"


@dataclass(frozen=True)
class Certificate:
    certificate: Path
    key: Path


def throwaway_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for facegate.example.org and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facegate.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    names = [
        x509.DNSName("facegate.example.org"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    found = Certificate(folder / "cert.pem", folder / "key.pem")
    found.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


def shipped(name: str, replacements: Mapping[str, str]) -> str:
    """deploy/<name> with each of `replacements` replaced; each must be in the file, so a
    change to the shipped file cannot quietly leave the test on something else."""
    text = (DEPLOY / name).read_text()
    for old, new in replacements.items():
        assert old in text, f"deploy/{name} no longer holds {old!r}"
        text = text.replace(old, new)
    return text


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the proxy did not start: {log.read_text()}") from None
            time.sleep(0.05)


@contextmanager
def _running(
    command: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_port(port, process, log)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def nginx(site: str, folder: Path, port: int) -> Iterator[Path]:
    """nginx serving `site` (a file of deploy/ after `shipped`), from a main configuration of
    its own in `folder`, until the block ends; waits until `port` listens. Yields the error
    log. Missing nginx: skipped, or failed where FACEGATE_TEST_REQUIRE says so."""
    binary = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).is_file()), None
    )
    if binary is None:
        unavailable("nginx", "Debian's nginx is missing: apt-get install -y nginx")
    (folder / "site.conf").write_text(site)
    log = folder / "error.log"
    temporary = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Started as root, nginx's workers would take another user, who cannot read the test's
    # private folder: they stay the user running the tests.
    (folder / "nginx.conf").write_text(
        f"daemon off;\nuser {getpass.getuser()};\nworker_processes 1;\n"
        f"pid {folder / 'nginx.pid'};\nerror_log {log} info;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log {folder / 'access.log'};\n{temporary}\n"
        f"    include {folder / 'site.conf'};\n}}\n"
    )
    with _running([binary, "-p", str(folder), "-c", str(folder / "nginx.conf")], port, log):
        yield log


@contextmanager
def caddy(site: str, folder: Path, port: int) -> Iterator[Path]:
    """Caddy serving `site` (deploy/Caddyfile after `shipped`) until the block ends, with
    global options that keep it to the test: no admin endpoint, no port 80, its state in
    `folder`. Yields its log."""
    binary = shutil.which("caddy")
    if binary is None:
        unavailable("caddy", "Debian's caddy is missing: apt-get install -y caddy")
    config = folder / "Caddyfile"
    config.write_text("{\n\tadmin off\n\tauto_https disable_redirects\n}\n\n" + site)
    log = folder / "caddy.log"
    env = os.environ | {
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder),
    }
    command = [binary, "run", "--config", str(config), "--adapter", "caddyfile"]
    with _running(command, port, log, env):
        yield log


class _Verdicts(http.server.BaseHTTPRequestHandler):
    """Authelia's `/api/authz/auth-request` in miniature: the cookie `authelia_session=<e-mail>`
    is that user signed in (200 with `Remote-Email`); no cookie, 401 with the login page."""

    def do_GET(self) -> None:
        cookies = dict(
            part.strip().split("=", 1)
            for part in self.headers.get("Cookie", "").split(";")
            if "=" in part
        )
        user = cookies.get("authelia_session")
        if user:
            self.send_response(200)
            self.send_header("Remote-Email", user)
        else:
            self.send_response(401)
            original = self.headers.get("X-Original-URL", "")
            self.send_header("Location", f"https://auth.example.org/?rd={original}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test's output is the test's."""


@contextmanager
def authelia() -> Iterator[int]:
    """The stand-in verdict endpoint on a free port of 127.0.0.1; yields the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Verdicts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
