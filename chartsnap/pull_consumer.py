"""Durable pull consumers, the one way every service takes messages from
JetStream: one fetch step (`fetch_some`), a plain loop for result consumers
(`consume_forever`), free work slots for workers that must never hold more
messages than they can start (`WorkSlots`), and the `in_progress` heartbeat that
keeps a long piece of work from being redelivered (`keep_in_progress`).
Each message is handled with the request id its header carries bound in the
log context (`about`), so every line its handler writes names it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from chartsnap import logs, request_ids

log = logging.getLogger(__name__)

FETCH_WAIT_S = 1.0     # how long one fetch waits for messages before asking again
TROUBLE_PAUSE_S = 1.0  # pause after a failed fetch (connection trouble) before the next


def about(msg: Any) -> contextlib.AbstractContextManager:
    """The log context of handling `msg`: its request id, when it carries a sane one."""
    return request_ids.bound(request_id=request_ids.from_nats_headers(getattr(msg, "headers", None)))


async def fetch_some(sub: Any, batch: int, what: str) -> list:
    """At most `batch` messages from the pull subscription `sub`; none if none
    came within FETCH_WAIT_S or the connection is in trouble (then after a pause,
    so a reconnecting client is not spun on)."""
    try:
        return await sub.fetch(batch=batch, timeout=FETCH_WAIT_S)
    except NatsTimeout:
        return []
    except Exception as exc:  # noqa: BLE001 - reconnecting; the next fetch tells
        log.warning("fetching %s failed: %s", what, logs.failure(exc))
        await asyncio.sleep(TROUBLE_PAUSE_S)
        return []


async def consume_forever(js: JetStreamContext, subject: str, durable: str, stream: str,
                          handle: Callable[[Any], Awaitable[None]], *, batch: int = 64) -> None:
    """A durable pull consumer with explicit acks and no redelivery limit (a
    result dropped after N tries would strand its job): each message goes to
    `handle`, which acks, naks or terms it."""
    sub = await js.pull_subscribe(
        subject, durable=durable, stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_deliver=-1),
    )
    while True:
        for msg in await fetch_some(sub, batch, subject):
            with about(msg):
                await handle(msg)


class WorkSlots:
    """Free work slots of a queue consumer. `fetch` takes every free slot at
    once and asks the queue for exactly that many messages; `start` runs one
    message's work in its slot under the in_progress heartbeat; `drain` lets the
    work in flight finish within a grace period and cancels the rest (JetStream
    redelivers those messages after the ack wait)."""

    def __init__(self, count: int) -> None:
        self.free = count
        self.changed = asyncio.Condition()
        self.running: set[asyncio.Task] = set()

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
        """Take every free slot, fetch at most that many messages, and give
        back the slots left unfilled."""
        wanted = await self.take_all()
        msgs = await fetch_some(sub, wanted, what)
        if wanted > len(msgs):
            await self.release(wanted - len(msgs))
        return msgs

    def start(self, msg: Any, work: Callable[[Any], Awaitable[None]], heartbeat_s: float) -> None:
        """Run `work(msg)` in the slot `fetch` took for it, keeping `msg` in
        progress meanwhile; the slot is free again when the work ends."""
        task = asyncio.create_task(self._in_slot(msg, work, heartbeat_s))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _in_slot(self, msg: Any, work: Callable[[Any], Awaitable[None]], heartbeat_s: float) -> None:
        try:
            async with keep_in_progress(msg, heartbeat_s):
                with about(msg):
                    await work(msg)
        finally:
            await self.release()

    async def drain(self, grace_s: float) -> None:
        if self.running:
            await asyncio.wait(list(self.running), timeout=grace_s)
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)


async def _beat(msg: Any, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await msg.in_progress()
        except Exception:  # noqa: BLE001 - a lost connection; the ack will tell
            return


@contextlib.asynccontextmanager
async def keep_in_progress(msg: Any, interval_s: float) -> AsyncIterator[None]:
    """While the block runs, tell JetStream every `interval_s` that `msg` is
    still being worked on (interval well under the consumer's ack_wait)."""
    beat = asyncio.create_task(_beat(msg, interval_s))
    try:
        yield
    finally:
        beat.cancel()
