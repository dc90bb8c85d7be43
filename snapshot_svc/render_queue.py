"""NATS adapter of the snapshot service: publishes render requests and applies
render results to jobs (snapshot_svc.job_sweeper holds every job to its
deadline).

Publishing happens after the snapshot row is committed. A crash in between
leaves the job `queued` with `published_at` NULL; the sweeper republishes
those, and JetStream's duplicate window (keyed by snapshot id) drops a second
copy of a request that did get through. The PubAck's sequence is recorded, so
the sweeper can ask the stream whether the request is still there."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from nats.errors import MaxPayloadError
from sqlalchemy.exc import OperationalError
from nats.js import JetStreamContext

from chartsnap import errors, message_ids, pull_consumer, queue
from chartsnap.v1 import render_pb2
from snapshot_svc.charts import SpaceStore
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.render_data import build_render_request
from snapshot_svc.snapshot_metrics import observe_job_completed
from snapshot_svc.snapshots import SnapshotStore

if TYPE_CHECKING:
    from snapshot_svc.delivery_queue import DeliveryDispatcher

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0
TOO_LARGE = "the chart's data is too large to draw at once: narrow the window, the streams or the size"


class RenderQueue:
    def __init__(
        self, js: JetStreamContext, snapshots: SnapshotStore, spaces: SpaceStore, measurements: MeasurementStore,
    ) -> None:
        self.js = js
        self.snapshots = snapshots
        self.spaces = spaces
        self.measurements = measurements
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
                                        headers={message_ids.HEADER: message_ids.render_request_id(snapshot_id, publish)},
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


class ResultConsumer:
    """Applies RenderResult messages to jobs. Every transition is guarded by
    the job's current state, so redelivered results change nothing."""

    def __init__(self, js: JetStreamContext, snapshots: SnapshotStore, deliveries: "DeliveryDispatcher | None" = None) -> None:
        self.js = js
        self.snapshots = snapshots
        self.deliveries = deliveries

    async def run(self) -> None:
        await pull_consumer.consume_forever(self.js, queue.RENDER_RESULTS, queue.SNAPSHOT_RESULTS, queue.RESULTS_STREAM,
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
