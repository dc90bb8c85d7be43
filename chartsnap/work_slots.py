"""Free work slots of a queue consumer. The fetch loop takes every free slot
at once and asks the queue for exactly that many messages, so a worker never
holds messages it cannot start."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.errors import TimeoutError as NatsTimeout

log = logging.getLogger(__name__)


class WorkSlots:
    def __init__(self, count: int) -> None:
        self.free = count
        self.changed = asyncio.Condition()

    async def take_all(self) -> int:
        async with self.changed:
            await self.changed.wait_for(lambda: self.free > 0)
            taken, self.free = self.free, 0
            return taken

    async def release(self, count: int = 1) -> None:
        async with self.changed:
            self.free += count
            self.changed.notify_all()

    async def fetch(self, sub: Any, what: str) -> list:
        """Take every free slot, fetch at most that many messages from the pull
        subscription `sub`, and give back the slots left unfilled."""
        wanted = await self.take_all()
        try:
            msgs = await sub.fetch(batch=wanted, timeout=1.0)
        except NatsTimeout:
            msgs = []
        except Exception as exc:  # noqa: BLE001 - connection trouble; back off a moment
            log.warning("fetching %s failed: %s", what, exc)
            msgs = []
            await asyncio.sleep(1.0)
        if wanted > len(msgs):
            await self.release(wanted - len(msgs))
        return msgs
