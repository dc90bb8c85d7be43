"""An SMTP server (aiosmtpd) that parses every message it accepts with the
`email` package and keeps it.

Optional AUTH (LOGIN/PLAIN against one user and password) and STARTTLS with
a self-signed certificate made by the `openssl` CLI for 127.0.0.1 and
localhost; `ca_file` is that certificate, for the client to trust. With
STARTTLS on, the server requires it before MAIL and before AUTH, as real
submission servers do. Faults: `fail_next` answers RCPT or DATA with a code
of your choice, `hang_next` stalls DATA."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger(__name__)


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage          # parsed with email.policy.default
    raw: bytes
    authenticated_as: str | None   # the AUTH user, if the client logged in
    tls: bool                      # whether the session had switched to TLS
    at: float = field(default_factory=time.monotonic)

    def part(self, content_type: str) -> EmailMessage | None:
        """The first part of this content type, anywhere in the tree."""
        return next((p for p in self.message.walk() if p.get_content_type() == content_type), None)


@dataclass
class SmtpFault:
    remaining: int
    stage: str                 # "RCPT" or "DATA"
    reply: str = ""            # e.g. "451 4.3.0 Try again later"
    hang_seconds: float = 0.0


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, by the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed for a STARTTLS peer")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


class _Handler:
    def __init__(self, peer: "SmtpPeer") -> None:
        self.peer = peer

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        fault = self.peer._take_fault("RCPT")
        if fault is not None:
            return fault.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.peer._take_fault("DATA")
        if fault is not None and fault.hang_seconds:
            await asyncio.sleep(fault.hang_seconds)
            return "451 4.4.2 timed out"
        if fault is not None:
            return fault.reply
        raw = envelope.original_content or envelope.content
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
            message=email.message_from_bytes(raw, policy=email.policy.default),  # type: ignore[arg-type]
            raw=raw, authenticated_as=user if session.authenticated else None, tls=session.ssl is not None,
        )
        self.peer.messages.append(mail)
        images = sum(1 for part in mail.message.walk() if part.get_content_maintype() == "image")
        log.info("smtp peer accepted message #%s for %s: %r, %s inline image(s)", len(self.peer.messages),
                 ", ".join(mail.rcpt_tos), mail.message["Subject"], images)
        return "250 2.0.0 Message accepted for delivery"


class SmtpPeer:
    name = "smtp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, starttls: bool = False,
                 user: str | None = None, password: str | None = None) -> None:
        self.host, self.port = host, port
        self.starttls = starttls
        self.user = user
        self.password = password if password is not None else (secrets.token_urlsafe(12) if user else None)
        self.messages: list[ReceivedMail] = []
        self.auth_attempts: list[tuple[str, bool]] = []   # (user, accepted)
        self.faults: deque[SmtpFault] = deque()
        self.ca_file: Path | None = None
        self._cert_dir: Path | None = None
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> "SmtpPeer":
        loop = asyncio.get_running_loop()
        tls_context = None
        if self.starttls:
            self._cert_dir = Path(tempfile.mkdtemp(prefix="smtp-peer-"))
            cert, key = await asyncio.to_thread(make_self_signed_cert, self._cert_dir)
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_cert_chain(cert, key)
            self.ca_file = cert
        handler = _Handler(self)

        def protocol() -> SMTP:
            return SMTP(handler, hostname="peer.chartsnap.test", loop=loop, tls_context=tls_context,
                        require_starttls=self.starttls, auth_required=self.user is not None,
                        auth_require_tls=self.starttls, authenticator=self._authenticate)

        # The same protocol class aiosmtpd's Controller serves, on our own
        # loop and on a socket we bind, so port 0 is a free port without a race.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = await loop.create_server(protocol, sock=sock)
        log.info("smtp peer listening on %s:%s%s%s", self.host, self.port,
                 " with STARTTLS" if self.starttls else "", " and AUTH" if self.user else "")
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass
            self._server = None
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            self._cert_dir = None

    async def __aenter__(self) -> "SmtpPeer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: object) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = (self.user is not None and secrets.compare_digest(user, self.user)
              and secrets.compare_digest(auth_data.password.decode(), self.password or ""))
        self.auth_attempts.append((user, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    # -- controls ----------------------------------------------------------

    def fail_next(self, count: int = 1, code: int = 451, text: str = "4.3.0 Try again later",
                  stage: str = "DATA") -> None:
        """Answer the next `count` RCPT or DATA commands with `code text`."""
        self.faults.append(SmtpFault(count, stage.upper(), reply=f"{code} {text}"))

    def hang_next(self, count: int = 1, seconds: float = 30.0) -> None:
        """Stall the next `count` DATA commands for `seconds`."""
        self.faults.append(SmtpFault(count, "DATA", hang_seconds=seconds))

    def reset(self) -> None:
        self.messages.clear()
        self.auth_attempts.clear()
        self.faults.clear()

    def _take_fault(self, stage: str) -> SmtpFault | None:
        for fault in self.faults:
            if fault.stage == stage:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"smtp peer got {len(self.messages)} messages, expected {count}")
            await asyncio.sleep(0.02)
        return self.messages

    def env(self) -> dict[str, str]:
        """The notifier's CHARTSNAP_SMTP_* settings that point at this peer."""
        env = {"CHARTSNAP_SMTP_HOST": self.host, "CHARTSNAP_SMTP_PORT": str(self.port),
               "CHARTSNAP_SMTP_STARTTLS": "true" if self.starttls else "false"}
        if self.user:
            env |= {"CHARTSNAP_SMTP_USER": self.user, "CHARTSNAP_SMTP_PASSWORD": self.password or ""}
        if self.ca_file:
            env["CHARTSNAP_SMTP_CA_FILE"] = str(self.ca_file)
        return env
