"""HTTP calls to chat vendors with the attempt bounds, and the rule that turns
an answer into success, a transient failure or a permanent one.

Connection errors and timeouts become TransientDeliveryError here, with our
own words (never aiohttp's, which may quote the URL)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import aiohttp

from notifier_svc.guarded_connector import DestinationRefused, GuardedConnector
from notifier_svc.notifier import Notifier, PermanentDeliveryError, TransientDeliveryError
from notifier_svc.outbound_policy import OutboundPolicy
from notifier_svc.retry_policy import parse_retry_after

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 64 * 1024   # vendors answer with a word or a small JSON; never read more
MAX_WORDS = 300               # of the peer's words kept in an error text
UNSENDABLE_SETTING = "a setting holds characters a request cannot carry"


@dataclass(frozen=True)
class AttemptTimeouts:
    """Bounds of one attempt: connect, each read, and the whole exchange."""

    connect: float = 2.0
    read: float = 6.0
    total: float = 20.0

    def client_timeout(self, total: float | None = None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total if total is None else total, connect=self.connect,
                                     sock_read=self.read)


@dataclass(frozen=True)
class VendorReply:
    status: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


class VendorHttp:
    """One client session shared by the chat notifiers; it connects only to
    the addresses `policy` allows (checked at connect time) and never follows
    redirects."""

    def __init__(self, timeouts: AttemptTimeouts, policy: OutboundPolicy = OutboundPolicy()) -> None:
        self.timeouts = timeouts
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: a ClientSession belongs to the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=GuardedConnector(self.policy),
                timeout=self.timeouts.client_timeout(),
                headers={"User-Agent": "chartsnap-notifier/1"},
                trust_env=False,   # no proxy from the environment: the policy sees the real destination
            )
        return self._session

    async def request(self, vendor: str, method: str, url: str, *, json_body: Any = None,
                      headers: Mapping[str, str] | None = None, deadline: float | None = None) -> VendorReply:
        """One exchange, bounded by the attempt timeouts and, when given, by
        `deadline` (time.monotonic()) so that an attempt of several requests
        keeps within one attempt timeout."""
        t = self.timeouts
        total = t.total
        if deadline is not None:
            total = min(total, deadline - time.monotonic())
            if total <= 0:
                raise TransientDeliveryError(f"{vendor}: the attempt took longer than {t.total:g} s")
        try:
            async with self._client().request(method, url, json=json_body, headers=headers,
                                              allow_redirects=False,
                                              timeout=t.client_timeout(total)) as resp:
                body = bytearray()
                while len(body) < MAX_REPLY_BYTES:
                    chunk = await resp.content.read(MAX_REPLY_BYTES - len(body))
                    if not chunk:
                        break
                    body += chunk
                return VendorReply(resp.status, body.decode("utf-8", "replace"), dict(resp.headers))
        except aiohttp.ConnectionTimeoutError:
            raise TransientDeliveryError(f"{vendor}: could not connect within {t.connect:g} s") from None
        except aiohttp.SocketTimeoutError:
            raise TransientDeliveryError(f"{vendor}: no answer within {t.read:g} s") from None
        except asyncio.TimeoutError:
            raise TransientDeliveryError(f"{vendor}: the exchange took longer than {t.total:g} s") from None
        except aiohttp.InvalidURL:
            raise PermanentDeliveryError(f"{vendor}: the configured URL is not valid") from None
        except ValueError:
            # aiohttp refuses a header value with CR/LF (a token that would
            # add headers of its own): the service's settings cannot work.
            raise PermanentDeliveryError(f"{vendor}: {UNSENDABLE_SETTING}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationRefused):
                raise PermanentDeliveryError(f"{vendor}: {exc.os_error.args[0]}") from None
            if isinstance(exc, aiohttp.ClientConnectorCertificateError):
                raise PermanentDeliveryError(f"{vendor}: the server's TLS certificate is not trusted") from None
            # The errno's own words: aiohttp's strerror quotes the address and port.
            errno = exc.os_error.errno
            reason = os.strerror(errno) if isinstance(errno, int) and errno > 0 else type(exc.os_error).__name__
            raise TransientDeliveryError(f"{vendor}: could not connect ({reason})") from None
        except aiohttp.ClientError as exc:
            raise TransientDeliveryError(f"{vendor}: connection failed ({type(exc).__name__})") from None

    async def exchange(self, vendor: str, method: str, url: str, words: Callable[[VendorReply], str], *,
                       json_body: Any = None, headers: Mapping[str, str] | None = None,
                       deadline: float | None = None) -> VendorReply:
        """`request`, then `raise_for_reply` with what the vendor's own error
        format says (`words`): returns only a successful reply."""
        reply = await self.request(vendor, method, url, json_body=json_body, headers=headers, deadline=deadline)
        raise_for_reply(vendor, reply, words(reply))
        return reply

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class VendorNotifier(Notifier):
    """A chat destination reached over HTTP through the shared VendorHttp."""

    def __init__(self, http: VendorHttp) -> None:
        self.http = http


def short_words(text: str) -> str:
    """The peer's words on one line, bounded, without control characters."""
    printable = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    words = " ".join(printable.split())
    return words if len(words) <= MAX_WORDS else words[: MAX_WORDS - 1] + "…"


def raise_for_reply(vendor: str, reply: VendorReply, words: str) -> None:
    """Nothing for 2xx. 408, 429 and 5xx are transient (with the peer's
    Retry-After); every other status is permanent: the same request would be
    refused again.

    `words` must be what the vendor's documented error format says (its
    error code, its JSON error message), never the raw body: a reply in no
    known format (an internal server, a proxy's HTML page) gives just the
    status."""
    if reply.ok:
        return
    words = short_words(words)
    detail = f"{vendor} answered {reply.status}" + (f": {words}" if words else "")
    if reply.status in (408, 429) or reply.status >= 500:
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        raise TransientDeliveryError(detail, retry_after)
    raise PermanentDeliveryError(detail)
