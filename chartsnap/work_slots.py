"""Free work slots of a queue consumer. The fetch loop takes every free slot
at once and asks the queue for exactly that many messages, so a worker never
holds messages it cannot start."""

from __future__ import annotations

import asyncio


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
