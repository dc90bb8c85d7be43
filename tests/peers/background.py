"""Peers for code without an event loop (synchronous tests, scripts): they
run on a loop in a daemon thread.

    with PeersInBackground(SlackPeer(), SmtpPeer()) as (slack, smtp):
        ... slack.settings() ... slack.messages ...

Recorded lists are appended on the peers' thread; reading them from the
caller's thread is safe for the checks tests make (length, items)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class PeersInBackground:
    def __init__(self, *peers: Any) -> None:
        self.peers = peers
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="peers", daemon=True)

    def __enter__(self) -> tuple[Any, ...]:
        self.thread.start()
        for peer in self.peers:
            self.run(peer.start())
        return self.peers

    def __exit__(self, *exc: object) -> None:
        for peer in self.peers:
            self.run(peer.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the peers' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
