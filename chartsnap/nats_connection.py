"""How every service connects to NATS: with its own login and inbox, waiting
for a server that is not up yet instead of exiting.

A service started before NATS (a pod scheduled first, a supervisor restarting
NATS) retries every `RETRY_WAIT` seconds, forever, and logs that it waits: the
first failure, then about every `WAIT_LOG_EVERY` seconds. Until it connects it
serves no health endpoint, so probes see it not ready. A refused login is a
configuration error, not an outage: it stops the service at once with a
message naming the variables. Once connected, the client reconnects on its
own (no attempt limit), `RETRY_WAIT` apart."""

from __future__ import annotations

import logging
import time
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.errors import AuthorizationError
from nats.protocol.parser import AUTHORIZATION_VIOLATION

from chartsnap.nats_authorization import inbox_prefix
from chartsnap.service_main import StartRefused
from chartsnap.settings import NatsLogin, NatsSettings

log = logging.getLogger(__name__)

RETRY_WAIT = 1.0        # seconds between connection attempts (first connect and reconnects)
CONNECT_TIMEOUT = 5.0   # seconds for one attempt's TCP + handshake
WAIT_LOG_EVERY = 30.0   # seconds between "still waiting" log lines


def failover_bound(servers: int) -> float:
    """Seconds within which a client that lost its server (killed, even with
    SIGKILL: the kernel closes its sockets, so the loss is seen at once) is
    connected to another live one of `servers`. The client tries its pool in
    turn (servers listed plus those the cluster told it of, the same ones
    here), sleeping RETRY_WAIT before one it tried less than RETRY_WAIT ago:
    at worst once per server; a refused connection fails at once, and the
    live server answers within CONNECT_TIMEOUT."""
    return servers * RETRY_WAIT + CONNECT_TIMEOUT


class NatsLoginRefused(StartRefused):
    """NATS refused this service's user or password: restarting will not help
    until someone fixes the login, so it stops the service with one line."""


def login_options(login: NatsLogin) -> dict[str, Any]:
    """nats.connect keyword arguments for `login` (nothing when anonymous)."""
    if not login.user:
        return {}
    return {"user": login.user, "password": login.password, "inbox_prefix": inbox_prefix(login.user)}


async def connect_nats(settings: NatsSettings, name: str, **options: Any) -> NATS:
    """Connect to one of `settings.servers` as its login, waiting as long as
    it takes for one to answer; after a disconnect the client moves to any
    other live server of the cluster (and learns the rest from the one it
    reached)."""
    url, login = ", ".join(settings.servers), settings.login
    connected = False
    attempts = 0
    first_failure = last_logged = 0.0

    async def on_error(exc: Exception) -> None:
        nonlocal attempts, first_failure, last_logged
        if connected:
            log.warning("NATS: %s", exc or type(exc).__name__)
            return
        if isinstance(exc, AuthorizationError) or AUTHORIZATION_VIOLATION.lower() in str(exc).lower():
            raise NatsLoginRefused(
                f"NATS at {url} refused user {login.user or '(none)'}: check CHARTSNAP_NATS_USER and "
                "CHARTSNAP_NATS_PASSWORD (or _PASSWORD_FILE)")
        attempts += 1
        now = time.monotonic()
        if attempts == 1:
            first_failure = last_logged = now
            log.warning("waiting for NATS at %s (%s); retrying every %.1fs", url, exc or type(exc).__name__,
                        RETRY_WAIT)
        elif now - last_logged >= WAIT_LOG_EVERY:
            last_logged = now
            log.warning("still waiting for NATS at %s after %.0fs (%s attempts): %s", url, now - first_failure,
                        attempts, exc or type(exc).__name__)

    async def on_disconnected() -> None:
        if connected and not nc.is_closed:   # not our own close() at shutdown
            log.warning("lost the NATS connection; reconnecting every %.1fs", RETRY_WAIT)

    async def on_reconnected() -> None:
        log.info("reconnected to NATS")

    nc: NATS | None = None
    nc = await nats.connect(
        servers=list(settings.servers), name=name, error_cb=on_error, disconnected_cb=on_disconnected, reconnected_cb=on_reconnected,
        allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=RETRY_WAIT,
        connect_timeout=CONNECT_TIMEOUT, **login_options(login), **options)
    connected = True
    if attempts:
        log.info("connected to NATS at %s after %.1fs", url, time.monotonic() - first_failure)
    return nc
