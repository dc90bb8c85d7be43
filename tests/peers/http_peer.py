"""What every HTTP vendor peer shares: an aiohttp server on a free port,
records of what arrived, and injected faults.

A peer is started and stopped on the running event loop (`await
peer.start()` / `await peer.stop()`, or `async with peer:`); for code
without a loop see `tests.peers.background`."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


@dataclass
class ReceivedRequest:
    """Every request the peer saw, accepted or not."""

    method: str
    path: str
    endpoint: str            # the route's name ("webhook", "rooms", …); "" for unknown paths
    headers: dict[str, str]
    body: bytes
    status: int = 0          # what the peer answered
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class ReceivedMessage:
    """A message the peer accepted, as the vendor would show it."""

    endpoint: str
    path: str
    body: Any                # the parsed JSON payload
    credential: str          # what authenticated it (token, webhook secret, …)
    room: str = ""           # the room it went to, where the vendor has rooms
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    """Answer the next `remaining` matching requests with `status` (and the
    vendor's error body), or hang for `hang_seconds` when status is None."""

    remaining: int
    status: int | None = None
    retry_after: str | None = None
    words: str | None = None
    hang_seconds: float = 0.0
    endpoint: str | None = None   # only requests to this route; None: any
    after: int = 0                # let this many matching requests through first


class HttpPeer:
    name = "peer"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[ReceivedRequest] = []
        self.messages: list[ReceivedMessage] = []
        self.faults: deque[Fault] = deque()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> "HttpPeer":
        app = web.Application(middlewares=[self._record_and_inject], client_max_size=MAX_BODY)
        app.router.add_get("/_peer/messages", self._show_messages, name="_peer")
        self.add_routes(app)
        # A short shutdown: hanging handlers must not hold up stop().
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        # Bound here so that port 0 gives a free port we can then report.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        log.info("%s peer listening on %s", self.name, self.server_url)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "HttpPeer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def server_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- what the vendor does (subclasses) ---------------------------------

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def error_response(self, status: int, words: str) -> web.Response:
        """The vendor's error body for `status`."""
        return web.Response(status=status, text=words)

    def default_words(self, status: int) -> str:
        return {429: "rate_limited", 500: "internal_error", 502: "bad_gateway",
                503: "service_unavailable", 504: "gateway_timeout"}.get(status, "error")

    def settings(self) -> dict[str, str]:
        """The service settings that point a chartsnap service at this peer."""
        raise NotImplementedError

    # -- controls ----------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503, *, retry_after: float | str | None = None,
                  words: str | None = None, endpoint: str | None = None, after: int = 0) -> None:
        """The next `count` requests (to `endpoint`, if given; after letting
        `after` of them through) get `status` with the vendor's error body and,
        if given, a Retry-After header."""
        self.faults.append(Fault(count, status=status, endpoint=endpoint, words=words, after=after,
                                 retry_after=None if retry_after is None else str(retry_after)))

    def hang_next(self, count: int = 1, seconds: float = 30.0, *, endpoint: str | None = None,
                  after: int = 0) -> None:
        """The next `count` requests get no answer for `seconds` (longer than
        the client's read timeout), then a 504."""
        self.faults.append(Fault(count, hang_seconds=seconds, endpoint=endpoint, after=after))

    def reset(self) -> None:
        self.requests.clear()
        self.messages.clear()
        self.faults.clear()

    def accept(self, message: ReceivedMessage) -> None:
        self.messages.append(message)
        log.info("%s peer accepted message #%s at %s", self.name, len(self.messages), message.path)

    async def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} peer got {len(self.messages)} messages, expected {count}")
            await asyncio.sleep(0.02)
        return self.messages

    def requests_to(self, endpoint: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    # -- plumbing ----------------------------------------------------------

    def _take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint in (None, endpoint):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _record_and_inject(self, request: web.Request, handler) -> web.StreamResponse:  # noqa: ANN001
        route = request.match_info.route
        endpoint = (route.name or "") if route is not None else ""
        if endpoint == "_peer":
            return await handler(request)
        seen = ReceivedRequest(request.method, request.path_qs, endpoint, dict(request.headers),
                               await request.read())
        self.requests.append(seen)
        fault = self._take_fault(endpoint) if endpoint else None
        if fault is not None and fault.status is None:
            await asyncio.sleep(fault.hang_seconds)
            response: web.StreamResponse = web.Response(status=504, text="gateway_timeout")
        elif fault is not None:
            response = self.error_response(fault.status, fault.words or self.default_words(fault.status))
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
        seen.status = response.status
        return response

    async def _show_messages(self, request: web.Request) -> web.Response:  # noqa: ARG002
        """GET /_peer/messages: what arrived, for a look by hand."""
        return web.json_response({"count": len(self.messages),
                                  "messages": [asdict(m) for m in self.messages]})
