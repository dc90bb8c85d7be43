"""Sending one e-mail over SMTP (smtplib, in a thread) with the attempt bounds,
STARTTLS and AUTH when configured, and the SMTP reply turned into the
delivery error classes: 5xx permanent, 4xx and connection trouble transient."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from notifier_svc.notifier import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from notifier_svc.vendor_http import AttemptTimeouts, short_words

DEFAULT_SMTP_FROM = "chartsnap <snapshots@chartsnap.local>"


@dataclass(frozen=True)
class SmtpServer:
    host: str = "127.0.0.1"
    port: int = 2525
    user: str = ""                                   # empty: no AUTH
    password: str = field(default="", repr=False)    # never logged
    starttls: bool = False
    sender: str = DEFAULT_SMTP_FROM                  # the From header; its address is the envelope sender
    ca_file: Path | None = None                      # extra CA to trust for STARTTLS (self-signed servers)

    @property
    def envelope_sender(self) -> str:
        return parseaddr(self.sender)[1]


class ConnectTimeout(Exception):
    pass


class BoundedSMTP(smtplib.SMTP):
    """smtplib has one timeout for everything; we want a short one to connect
    and a longer one for each read."""

    def __init__(self, timeouts: AttemptTimeouts) -> None:
        self.connect_timeout = timeouts.connect
        self.read_timeout = timeouts.read
        super().__init__(timeout=timeouts.read)

    def connect(self, host: str = "localhost", port: int = 0, source_address: tuple | None = None) -> tuple:
        # smtplib only learns the host for STARTTLS's certificate check when
        # it is given to the constructor, which would also connect at once.
        self._host = host
        return super().connect(host, port, source_address)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # noqa: ARG002
        try:
            sock = socket.create_connection((host, port), self.connect_timeout, self.source_address)
        except TimeoutError:
            raise ConnectTimeout() from None
        sock.settimeout(self.read_timeout)
        return sock


def _reply_words(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {short_words(text)}".strip()


def classify_smtp_error(exc: BaseException, timeouts: AttemptTimeouts) -> DeliveryError:
    """The delivery error for what smtplib (or the socket under it) raised."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients
        words = "; ".join(f"{addr}: {_reply_words(code, text)}" for addr, (code, text) in refused.items())
        detail = f"smtp server refused every recipient: {words}"
        if all(code >= 500 for code, _ in refused.values()):
            return PermanentDeliveryError(detail)
        return TransientDeliveryError(detail)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(f"smtp server refused the login: {_reply_words(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"smtp server answered {_reply_words(exc.smtp_code, exc.smtp_error)}"
        if exc.smtp_code >= 500:
            return PermanentDeliveryError(detail)
        return TransientDeliveryError(detail)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # e.g. "STARTTLS extension not supported by server."; never an empty reason
        return PermanentDeliveryError(f"smtp server: {str(exc).strip() or type(exc).__name__}")
    if isinstance(exc, ConnectTimeout):
        return TransientDeliveryError(f"smtp: could not connect within {timeouts.connect:g} s")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError("smtp server closed the connection")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentDeliveryError(f"smtp: the server's TLS certificate is not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return TransientDeliveryError(f"smtp: TLS failed ({getattr(exc, 'reason', None) or type(exc).__name__})")
    if isinstance(exc, TimeoutError):
        return TransientDeliveryError(f"smtp: no answer within {timeouts.read:g} s")
    if isinstance(exc, OSError):
        return TransientDeliveryError(f"smtp: could not connect ({exc.strerror or type(exc).__name__})")
    return TransientDeliveryError(f"smtp: {type(exc).__name__}")


WATCHDOG_GRACE = 0.25


def _shut_down(smtp: smtplib.SMTP) -> None:
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SmtpSender:
    def __init__(self, server: SmtpServer, timeouts: AttemptTimeouts, threads: int = 8) -> None:
        self.server = server
        self.timeouts = timeouts
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="smtp")
        self.tls = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)

    async def send(self, message: EmailMessage, recipients: list[str],
                   deadline: float | None = None) -> dict[str, str]:
        """Send once, within the attempt timeout (or by `deadline`,
        time.monotonic(), when that is sooner); returns the recipients the
        server refused (others got it)."""
        budget = self.timeouts.total
        if deadline is not None:
            budget = min(budget, deadline - time.monotonic())
        if budget <= 0:
            raise TransientDeliveryError(f"smtp: the attempt took longer than {self.timeouts.total:g} s")
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self.threads, self._send_blocking, message, recipients, budget)
        try:
            # The thread cuts its own connection at `budget`; the extra
            # moment lets its error arrive rather than leave it running.
            return await asyncio.wait_for(work, budget + WATCHDOG_GRACE)
        except asyncio.TimeoutError:
            raise TransientDeliveryError(f"smtp: the exchange took longer than {self.timeouts.total:g} s") from None

    def _send_blocking(self, message: EmailMessage, recipients: list[str], budget: float) -> dict[str, str]:
        server = self.server
        smtp = BoundedSMTP(self.timeouts)
        # smtplib bounds each read, not the exchange: a server trickling
        # replies could hold the thread for many read timeouts. At `budget`
        # the socket is shut down, which ends any read or write in progress.
        watchdog = threading.Timer(budget, _shut_down, args=(smtp,))
        watchdog.daemon = True
        watchdog.start()
        try:
            smtp.connect(server.host, server.port)
            smtp.ehlo_or_helo_if_needed()
            if server.starttls:
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            if server.user:
                smtp.login(server.user, server.password)
            refused = smtp.send_message(message, from_addr=server.envelope_sender, to_addrs=recipients)
        except DeliveryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
            raise classify_smtp_error(exc, self.timeouts) from None
        finally:
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                smtp.close()
            watchdog.cancel()
        return {addr: _reply_words(code, text) for addr, (code, text) in refused.items()}

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
