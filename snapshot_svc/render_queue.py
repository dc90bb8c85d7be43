"""NATS adapter of the snapshot service: publishes render requests, applies
render results to jobs, and holds every job to its deadline.

Publishing happens after the snapshot row is committed. A crash in between
leaves the job `queued` with `published_at` NULL; the sweeper republishes
those, and JetStream's duplicate window (keyed by snapshot id) drops a second
copy of a request that did get through.

Bounds (JobBounds, from settings), all enforced here:
- a render request that exhausts its deliveries without a result (the worker
  crashed every time) fails its job as soon as JetStream's max-deliveries
  advisory names it;
- a request gone from the render stream (acked without a result reaching us,
  terminated, deleted, purged) for `lost_request_grace` is published once
  more under a new Msg-Id, and the job fails if that one is lost too;
- a delivery with no result `delivery_deadline` after it was queued is
  recorded failed;
- whatever else happens, a job still open `job_deadline` after its creation
  ends: failed if its image is not stored, else complete with its pending
  deliveries failed.
Every action is one UPDATE guarded by the state it expects, so several
snapshot_svc replicas may sweep at once: only the one whose UPDATE matched
acts (a second copy of a republished request is dropped by its Msg-Id)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import TYPE_CHECKING

from nats.errors import MaxPayloadError
from nats.js.errors import NotFoundError
from sqlalchemy.exc import OperationalError
from nats.js import JetStreamContext

from chartsnap import errors, queue
from chartsnap.idempotency_key import REUSE_AFTER
from chartsnap.v1 import render_pb2
from snapshot_svc.charts import SpaceStore
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.render_data import build_render_request
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshot_metrics import observe_job_completed
from snapshot_svc.delivery_queue import delivery_msg_id
from snapshot_svc.snapshots import QueuedDelivery, SnapshotStore

if TYPE_CHECKING:
    from snapshot_svc.delivery_queue import DeliveryDispatcher

log = logging.getLogger(__name__)

UNPUBLISHED_GRACE = 10.0  # seconds a fresh job may wait before the sweeper republishes it
PUBLISH_TIMEOUT = 5.0
MAX_PUBLISHES = 2  # a lost render request is published once more, then its job fails
SWEEP_BATCH = 100  # jobs each step of one sweep looks at
TOO_LARGE = "the chart's data is too large to draw at once: narrow the window, the streams or the size"
# JetStream publishes this when a render request was delivered max_deliver
# times without an ack or a term: the render worker died (or hung) on every one.
RENDER_MAX_DELIVERIES = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{queue.RENDER_STREAM}.{queue.RENDER_WORKERS}"
ADVISORY_GROUP = "snapshot-svc"  # one replica handles each advisory


def render_msg_id(snapshot_id: int, publish: int = 1) -> str:
    """Nats-Msg-Id of a render request; a republish needs a new one, or the
    duplicate window would drop it."""
    return f"render-{snapshot_id}" if publish <= 1 else f"render-{snapshot_id}-{publish}"


RENDER_MSG_ID = re.compile(r"render-([0-9]{1,18})(?:-[0-9]{1,9})?")


def snapshot_named_by(msg_id: str | None) -> int | None:
    """The snapshot a render request's Nats-Msg-Id names (None if it is not one)."""
    match = RENDER_MSG_ID.fullmatch(msg_id or "")
    return int(match.group(1)) if match else None


class RenderQueue:
    def __init__(
        self, js: JetStreamContext, snapshots: SnapshotStore, spaces: SpaceStore, measurements: MeasurementStore,
        bounds: JobBounds = JobBounds(),
    ) -> None:
        self.js = js
        self.snapshots = snapshots
        self.spaces = spaces
        self.measurements = measurements
        self.bounds = bounds
        self._in_flight: set[asyncio.Task] = set()

    def _build(self, account_id: int, snapshot_id: int, snap: dict | None = None,
               chart: dict | None = None) -> render_pb2.RenderRequest | None:
        """The request, from the snapshot and chart just written when the caller
        has them, else read again (the sweeper's case)."""
        snap = snap or self.snapshots.get(account_id, snapshot_id)
        if chart is None:
            try:
                chart = self.spaces.get_chart(account_id, snap["chart_id"])
            except errors.NotFound:
                self.snapshots.render_failed(snapshot_id, "the chart was deleted before it could be drawn",
                                             time.time())
                return None
        return build_render_request(self.measurements, chart, snap, time.time())

    def _fail(self, snapshot_id: int, reason: str) -> None:
        self.snapshots.render_failed(snapshot_id, reason, time.time())

    async def publish_render(self, account_id: int, snapshot_id: int, snap: dict | None = None,
                             chart: dict | None = None, publish: int = 1) -> bool:
        """Queue the render. A failure that will not go away (the data cannot be
        read into a request, or the request is too large for the queue) fails
        the job; anything else (NATS unreachable, database busy) leaves it
        queued for the sweeper."""
        try:
            request = await asyncio.to_thread(self._build, account_id, snapshot_id, snap, chart)
        except OperationalError as exc:
            log.warning("render request for snapshot %s not built yet: %s", snapshot_id, exc)
            return False
        except Exception:  # noqa: BLE001 - deterministic: building again gives the same error
            log.exception("render request for snapshot %s cannot be built", snapshot_id)
            await asyncio.to_thread(self._fail, snapshot_id, "the chart's data could not be read")
            return False
        if request is None:
            return False
        payload = request.SerializeToString()
        if len(payload) > self.js._nc.max_payload:  # noqa: SLF001 - the connected server's limit
            await asyncio.to_thread(self._fail, snapshot_id, TOO_LARGE)
            return False
        try:
            ack = await self.js.publish(queue.RENDER_REQUESTS, payload,
                                        headers={"Nats-Msg-Id": render_msg_id(snapshot_id, publish)},
                                        timeout=PUBLISH_TIMEOUT)
        except MaxPayloadError:
            await asyncio.to_thread(self._fail, snapshot_id, TOO_LARGE)
            return False
        except Exception as exc:  # noqa: BLE001 - transient: the sweeper tries again
            log.warning("render request for snapshot %s not queued yet: %s", snapshot_id, exc)
            return False
        # A duplicate's PubAck carries the first copy's sequence: the one on the stream.
        await asyncio.to_thread(self.snapshots.mark_published, snapshot_id, time.time(), ack.seq)
        return True

    def publish_soon(self, account_id: int, snap: dict, chart: dict) -> None:
        """Publish in the background: the client has its 202 as soon as the
        snapshot is committed, however long reading the chart's data takes."""
        task = asyncio.create_task(self.publish_render(account_id, snap["id"], snap, chart))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def sweep_once(self, grace: float = UNPUBLISHED_GRACE) -> int:
        """One pass of every bound (see the module docstring); returns how many
        never-published requests it published."""
        now = time.time()
        await self._enforce_deadlines(now)
        await asyncio.to_thread(self.snapshots.forget_idempotency_keys, now - REUSE_AFTER)
        stale = await asyncio.to_thread(self.snapshots.unpublished, now - grace)
        published = 0
        for account_id, snapshot_id in stale:
            published += await self.publish_render(account_id, snapshot_id)
        await self._find_lost_requests(now)
        return published

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:  # noqa: BLE001 - keep sweeping
                log.exception("sweep failed")
            await asyncio.sleep(self.bounds.sweep_interval)

    async def _enforce_deadlines(self, now: float) -> None:
        deadline = self.bounds.job_deadline
        for job in await asyncio.to_thread(self.snapshots.open_jobs_created_before, now - deadline, SWEEP_BATCH):
            if job.rendered:
                await asyncio.to_thread(
                    self.snapshots.fail_pending_deliveries, job.snapshot_id,
                    f"no result from the notifier within the job deadline ({deadline:.0f} s)", now)
                log.warning("snapshot %s: deliveries still pending at the job deadline, failed", job.snapshot_id)
            elif await asyncio.to_thread(
                    self.snapshots.render_failed, job.snapshot_id,
                    f"the chart was not drawn within the job deadline ({deadline:.0f} s)", now):
                log.warning("snapshot %s: not rendered by the job deadline, failed", job.snapshot_id)
                if job.render_seq is not None:
                    await self._drop_request(job.render_seq)
        overdue = await asyncio.to_thread(
            self.snapshots.deliveries_dispatched_before, now - self.bounds.delivery_deadline, SWEEP_BATCH)
        for delivery in overdue:
            if delivery.request_seq is not None and await self._still_queued(delivery):
                await asyncio.to_thread(self.snapshots.delivery_still_queued, delivery.snapshot_id,
                                        delivery.service_id, now)
                continue
            await asyncio.to_thread(
                self.snapshots.delivery_ended, delivery.snapshot_id, delivery.service_id, "failed", 0,
                f"no result from the notifier within {self.bounds.delivery_deadline:.0f} s", now)
            log.warning("delivery %s:%s had no result by its deadline, failed", delivery.snapshot_id,
                        delivery.service_id)

    async def _still_queued(self, delivery: QueuedDelivery) -> bool:
        """Its request is still on the delivery stream: waiting behind others
        or being retried by a notifier, not lost. (Unknown counts as not.)"""
        try:
            msg = await self.js.get_msg(queue.DELIVERY_STREAM, delivery.request_seq)
        except Exception:  # noqa: BLE001 - gone, or JetStream unreachable: the deadline applies
            return False
        return (msg.headers or {}).get("Nats-Msg-Id") == delivery_msg_id(delivery.snapshot_id, delivery.service_id)

    async def _find_lost_requests(self, now: float) -> None:
        """Look up published, unrendered jobs' requests on the render stream.
        Gone for a whole grace with no result: publish again once, then fail."""
        grace = self.bounds.lost_request_grace
        for render in await asyncio.to_thread(self.snapshots.requests_to_check, now - grace, now - grace,
                                              SWEEP_BATCH):
            try:
                # Another snapshot's request at that sequence (a stream made
                # again numbers from 1) means ours is gone too.
                present = await self._snapshot_at(render.seq) == render.snapshot_id
            except Exception as exc:  # noqa: BLE001 - JetStream unreachable: look again next sweep
                log.warning("cannot look up render requests: %s", exc)
                return
            gone_since = await asyncio.to_thread(self.snapshots.request_seen, render.snapshot_id, render.seq,
                                                 present, now)
            if gone_since is None or gone_since > now - grace:
                continue
            if render.publishes < MAX_PUBLISHES and await asyncio.to_thread(
                    self.snapshots.claim_republish, render.snapshot_id, render.seq, render.publishes):
                log.warning("snapshot %s: render request lost from the queue, publishing it again",
                            render.snapshot_id)
                if not await self.publish_render(render.account_id, render.snapshot_id,
                                                 publish=render.publishes + 1):
                    await asyncio.to_thread(self.snapshots.undo_republish, render.snapshot_id, render.seq,
                                            render.publishes)
            elif render.publishes >= MAX_PUBLISHES and await asyncio.to_thread(
                    self.snapshots.render_failed, render.snapshot_id,
                    f"the render request was lost from the queue {render.publishes} times", now):
                log.error("snapshot %s: render request lost again, job failed", render.snapshot_id)

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
        try:
            # The work queue keeps the exhausted message: it names its snapshot.
            snapshot_id = await self._snapshot_at(seq)
        except Exception:  # noqa: BLE001 - fall back on the sequence recorded at publish
            snapshot_id = None
        try:
            if snapshot_id is None:
                snapshot_id = await asyncio.to_thread(self.snapshots.open_snapshot_at_seq, seq)
            if snapshot_id is not None and await asyncio.to_thread(
                    self.snapshots.render_failed, snapshot_id,
                    f"the render crashed on every attempt ({deliveries} deliveries without a result)", time.time(),
                    seq):
                log.error("snapshot %s: render request delivered %s times without a result, job failed",
                          snapshot_id, deliveries)
        except Exception:  # noqa: BLE001 - the job deadline still holds
            log.exception("applying max-deliveries advisory for stream sequence %s failed", seq)
            return
        # A work queue keeps a message that ran out of deliveries; nothing will take it now.
        await self._drop_request(seq)

    async def _snapshot_at(self, seq: int) -> int | None:
        """The snapshot whose request is at `seq` on the render stream; None
        when nothing (or no render request) is there. Raises if JetStream
        cannot be asked."""
        try:
            msg = await self.js.get_msg(queue.RENDER_STREAM, seq)
        except NotFoundError:
            return None
        return snapshot_named_by((msg.headers or {}).get("Nats-Msg-Id"))

    async def _drop_request(self, seq: int) -> None:
        try:
            await self.js.delete_msg(queue.RENDER_STREAM, seq)
        except NotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - harmless if it stays: its job is terminal
            log.warning("could not delete render request %s from the stream: %s", seq, exc)


class ResultConsumer:
    """Applies RenderResult messages to jobs. Every transition is guarded by
    the job's current state, so redelivered results change nothing."""

    def __init__(self, js: JetStreamContext, snapshots: SnapshotStore, deliveries: "DeliveryDispatcher | None" = None) -> None:
        self.js = js
        self.snapshots = snapshots
        self.deliveries = deliveries

    async def run(self) -> None:
        await queue.consume_forever(self.js, queue.RENDER_RESULTS, queue.SNAPSHOT_RESULTS, queue.RESULTS_STREAM,
                                    self._handle)

    async def _handle(self, msg) -> None:  # noqa: ANN001 - nats Msg
        try:
            result = render_pb2.RenderResult.FromString(msg.data)
        except Exception:  # noqa: BLE001 - a message we cannot read will never become readable
            log.error("dropping unreadable result message on %s", msg.subject)
            await msg.term()
            return
        try:
            deliveries_pending = await asyncio.to_thread(self.apply, result)
            if deliveries_pending and self.deliveries is not None:
                await self.deliveries.dispatch(result.snapshot_id)
        except Exception:  # noqa: BLE001 - database or queue trouble: try again shortly
            log.exception("applying result for snapshot %s failed", result.snapshot_id)
            await msg.nak(delay=1.0)
            return
        await msg.ack()

    def apply(self, result: render_pb2.RenderResult) -> bool:
        """Apply one result; True when the snapshot has deliveries to queue."""
        now = time.time()
        if result.state == render_pb2.RenderResult.STARTED:
            self.snapshots.render_started(result.snapshot_id, now)
        elif result.state == render_pb2.RenderResult.SUCCEEDED:
            deliveries_pending = self.snapshots.render_succeeded(result.snapshot_id, result.image_key, now)
            if not deliveries_pending:
                observe_job_completed(self.snapshots.engine, result.snapshot_id, now)
            return deliveries_pending
        elif result.state == render_pb2.RenderResult.FAILED:
            self.snapshots.render_failed(result.snapshot_id, result.error or "render failed", now)
        return False
