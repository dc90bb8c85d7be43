"""JetStream adapter of the sweeper: the rules live in snapshot_svc.sweeping;
this module answers its questions from the render and delivery streams and
reads JetStream's max-deliveries advisory into it. The advisory is taken by
one replica of a queue group."""

from __future__ import annotations

import json
import logging

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from chartsnap import logs, message_ids, queue
from snapshot_svc.jobs import Jobs
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshots import QueuedDelivery, SnapshotStore
from snapshot_svc.sweeping import UNPUBLISHED_GRACE, Sweeper

log = logging.getLogger(__name__)

# JetStream publishes this when a render request was delivered max_deliver
# times without an ack or a term: the render worker died (or hung) on every one.
RENDER_MAX_DELIVERIES = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{queue.RENDER_STREAM}.{queue.RENDER_WORKERS}"
ADVISORY_GROUP = "snapshot-svc"  # one replica handles each advisory


class JetStreamLookup:
    """The sweeper's questions to JetStream (sweeping.QueueLookup)."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def delivery_request_present(self, delivery: QueuedDelivery) -> bool:
        """Waiting behind others or being retried by a notifier, not lost."""
        try:
            msg = await self.js.get_msg(queue.DELIVERY_STREAM, delivery.request_seq)
        except NotFoundError:
            return False
        return (msg.headers or {}).get(message_ids.HEADER) == message_ids.delivery_request_id(delivery.snapshot_id, delivery.service_id)

    async def snapshot_at(self, seq: int) -> int | None:
        """The snapshot whose request is at `seq` on the render stream; None
        when nothing (or no render request) is there. Raises if JetStream
        cannot be asked."""
        try:
            msg = await self.js.get_msg(queue.RENDER_STREAM, seq)
        except NotFoundError:
            return None
        return message_ids.snapshot_of_render_request((msg.headers or {}).get(message_ids.HEADER))

    async def drop_render_request(self, seq: int) -> None:
        try:
            await self.js.delete_msg(queue.RENDER_STREAM, seq)
        except NotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - harmless if it stays: its job is terminal
            log.warning("could not delete render request %s from the stream: %s", seq, logs.failure(exc))


class JobSweeper:
    """The sweeper of one replica: its rules (sweeping.Sweeper) asking
    JetStream, and the max-deliveries advisory read into them."""

    def __init__(self, js: JetStreamContext, snapshots: SnapshotStore, renders: Jobs,
                 bounds: JobBounds = JobBounds()) -> None:
        self.js = js
        self.renders = renders
        self.rules = Sweeper(snapshots, renders, JetStreamLookup(js), bounds)

    async def sweep_once(self, grace: float = UNPUBLISHED_GRACE) -> int:
        return await self.rules.sweep_once(grace)

    async def sweep_forever(self) -> None:
        await self.rules.sweep_forever()

    async def watch_crash_loops(self) -> None:
        """Fail at once the job whose render request used up its deliveries
        without a result (subscribes to JetStream's max-deliveries advisory)."""
        await self.js._nc.subscribe(RENDER_MAX_DELIVERIES, queue=ADVISORY_GROUP,  # noqa: SLF001 - core NATS
                                    cb=self._on_max_deliveries)

    async def _on_max_deliveries(self, msg) -> None:  # noqa: ANN001 - nats Msg
        try:
            advisory = json.loads(msg.data)
            seq, deliveries = int(advisory["stream_seq"]), int(advisory.get("deliveries", 0))
        except (ValueError, KeyError, TypeError):
            log.error("unreadable max-deliveries advisory: %r", msg.data[:200])
            return
        await self.rules.crash_looped(seq, deliveries)
