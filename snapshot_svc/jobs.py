"""The snapshot service's application layer: every rule of a job's life, from
taking a snapshot to its last delivery. The gRPC servicer and the NATS result
consumers only translate to and from these calls; the queue is reached through
the two publisher interfaces below, which the NATS adapters (render_queue,
delivery_queue) implement. Blocking store work runs in threads.

Publishing happens after the snapshot row is committed. A crash in between
leaves the job `queued` with `published_at` NULL; the sweeper (sweeping)
publishes those again, and JetStream's duplicate window drops a second copy of
a request that did get through. The chart's data is read once and frozen
(snapshot_data, with its summary, in one transaction) before the first request
is made; every copy of the request, the sweeper's too, is made from what was
frozen (snapshot_svc.frozen_data), so each draws the same numbers.

Every line about a snapshot names it, its job and the request id of the call
that took it (chartsnap.request_ids): bound as it is taken, and bound again
from the stored id when its render is published outside that call (the
sweeper) or its deliveries are queued."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Callable, Protocol, Sequence

from sqlalchemy.exc import IntegrityError, OperationalError

from chartsnap import errors, logs, request_ids
from chartsnap.image_keys import share_url
from chartsnap.v1 import delivery_pb2, render_pb2
from snapshot_svc import annotation_rules, frozen_data
from snapshot_svc import snapshots as snaps
from snapshot_svc.accounts import Account, AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.render_data import build_render_request, resolution_for
from snapshot_svc.snapshot_summary import summary_of
from snapshot_svc.snapshots import FrozenData, SnapshotStore, Transition

log = logging.getLogger(__name__)

TOO_LARGE = "the chart's data is too large to draw at once: narrow the window, the streams or the size"
CHART_DELETED = "the chart was deleted before it could be drawn"
DATA_UNREADABLE = "the chart's data could not be read"
SERVICE_DELETED = "the service was deleted before delivery"
DELIVERY_STATES = ("delivered", "failed")
PNG_SHA256 = re.compile(r"[0-9a-f]{64}")


class RequestTooLarge(Exception):
    """The queue will never carry this request."""


class RenderPublisher(Protocol):
    async def publish(self, request: render_pb2.RenderRequest, publish: int) -> int:
        """Queue the request (its `publish`-th copy); return its stream
        sequence. Raises RequestTooLarge, or anything for a passing fault."""


class DeliveryPublisher(Protocol):
    async def publish(self, request: delivery_pb2.DeliveryRequest) -> int:
        """Queue the request; return its stream sequence. Raises if the queue refuses."""


class AnnotationEvents(Protocol):
    """The account's annotation streams, as a snapshot draws them (snapshot_svc.annotations)."""

    def unknown_stream_names(self, account_id: int, names: Sequence[str]) -> list[str]:
        """Those of `names` that are not streams of the account."""

    def events_in_window(self, account_id: int, names: Sequence[str], start: int, end: int,
                         limit: int) -> list[annotation_rules.AnnotationEvent]:
        """Events of those streams (["*"]: all) overlapping [start, end], at most `limit`."""


def _ignore(_: Transition) -> None:
    pass


class Deliveries:
    """A rendered snapshot's deliveries: queued once its image is stored, each
    ended by the notifier's result (or by the sweeper's deadline)."""

    def __init__(self, snapshots: SnapshotStore, destinations: DestinationStore, accounts: AccountStore,
                 spaces: SpaceStore, publisher: DeliveryPublisher, public_url: str,
                 image_url_for: Callable[[str], str], observe: Callable[[Transition], None] = _ignore) -> None:
        self.snapshots = snapshots
        self.destinations = destinations
        self.accounts = accounts
        self.spaces = spaces
        self.publisher = publisher
        self.public_url = public_url
        self.image_url_for = image_url_for
        self.observe = observe

    def requests(self, snapshot_id: int) -> list[delivery_pb2.DeliveryRequest]:
        """One request per pending delivery; a service deleted since the
        snapshot was taken ends its delivery as failed instead."""
        pending = self.snapshots.pending_deliveries(snapshot_id)
        if not pending:
            return []
        snap = self.snapshots.get(None, snapshot_id)
        account = self.accounts.get(snap["account_id"])
        chart_name = snap["chart_name"]  # its name when taken, as its share page shows it
        if chart_name is None:  # taken before names were kept: the chart's name now
            try:
                chart_name = self.spaces.get_chart(account.id, snap["chart_id"])["name"]
            except errors.NotFound:  # a chart deleted since still gets its snapshot delivered
                chart_name = snaps.chart_name_of(None, snap["chart_id"])
        services = self.destinations.owned(account.id, tuple(pending))
        requests = []
        for service_id in pending:
            service = services.get(service_id)
            if service is None:
                self.observe(self.snapshots.delivery_ended(snapshot_id, service_id, "failed", 0, SERVICE_DELETED,
                                                           time.time()))
                continue
            requests.append(delivery_pb2.DeliveryRequest(
                delivery_id=f"{snapshot_id}:{service_id}", snapshot_id=snapshot_id, job_id=snap["job_id"],
                service_id=service_id, type=service["type"], settings=service["settings"],
                chart_name=chart_name,
                # The public share page, not the API's chart (a 401 to every recipient).
                chart_url=share_url(self.public_url, snap["assigned_image_key"]),
                sender_name=account.display_name, sender_email=account.email, message=snap["message"] or "",
                image_url=self.image_url_for(snap["assigned_image_key"]), image_key=snap["assigned_image_key"],
                width=snap["width"], height=snap["height"], duration=snap["duration"], end_time=snap["end_time"],
                summary=snap["summary"], timezone=snap["timezone"],
            ))
        return requests

    async def dispatch(self, snapshot_id: int) -> None:
        """Queue every pending delivery of the snapshot; raises if the queue
        refuses (the caller retries the whole dispatch)."""
        with request_ids.bound(snapshot_id=snapshot_id):
            if request_ids.current_request_id() is None:  # a render result that carried none: the stored id
                request_ids.bind(request_id=(await asyncio.to_thread(self.snapshots.get, None, snapshot_id))
                                 .get("request_id"))
            seqs = {}
            for request in await asyncio.to_thread(self.requests, snapshot_id):
                with request_ids.bound(**request_ids.context_of(request)):
                    seqs[request.service_id] = await self.publisher.publish(request)
                    log.info("snapshot %s: delivery %s queued (%s)", snapshot_id, request.delivery_id, request.type)
            # The delivery deadline runs from the first time each was queued.
            await asyncio.to_thread(self.snapshots.mark_dispatched, snapshot_id, seqs, time.time())

    async def apply_result(self, snapshot_id: int, service_id: str, state: str, attempts: int,
                           error: str) -> None:
        """Record a notifier's outcome (first report wins)."""
        if state not in DELIVERY_STATES:
            raise ValueError(f"no delivery state {state!r}")
        transition = await asyncio.to_thread(self.snapshots.delivery_ended, snapshot_id, service_id, state,
                                             attempts, error, time.time())
        log.info("snapshot %s: delivery %s:%s %s after %s attempt(s)", snapshot_id, snapshot_id, service_id, state,
                 attempts)
        self.observe(transition)


class Jobs:
    """Taking a snapshot, queueing its render and applying the render's results."""

    def __init__(self, snapshots: SnapshotStore, spaces: SpaceStore, measurements: MeasurementStore,
                 renders: RenderPublisher, destinations: DestinationStore | None = None,
                 deliveries: Deliveries | None = None, observe: Callable[[Transition], None] = _ignore,
                 annotations: AnnotationEvents | None = None) -> None:
        self.snapshots = snapshots
        self.annotations = annotations
        self.spaces = spaces
        self.measurements = measurements
        self.renders = renders
        self.destinations = destinations
        self.deliveries = deliveries
        self.observe = observe
        self._in_flight: set[asyncio.Task] = set()

    # -- taking a snapshot ---------------------------------------------------
    async def take_snapshot(self, account: Account, valid: snaps.ValidSnapshot, now: float,
                            claim: snaps.IdempotencyClaim | None) -> tuple[dict, bool]:
        """The snapshot, and whether it is new (its render is then queued in
        the background); an idempotent retry answers the first request's
        snapshot and queues nothing again."""
        snap, chart = await asyncio.to_thread(self._create, account, valid, now, claim)
        request_ids.bind(snapshot_id=snap["id"], job_id=snap["job_id"])  # the rest of this call is about it
        if chart is None:
            log.info("snapshot %s answered again for its idempotency key", snap["id"])
            return snap, False
        log.info("snapshot %s taken: job %s, chart %s, %d service(s)", snap["id"], snap["job_id"], valid.chart_id,
                 len(valid.services))
        self.publish_soon(account.id, snap, chart)
        return snap, True

    def _create(self, account: Account, valid: snaps.ValidSnapshot, now: float,
                claim: snaps.IdempotencyClaim | None) -> tuple[dict, dict | None]:
        """The new snapshot and its chart; or, for a key already used, the
        snapshot it made and None. Only the account's own chart and services
        may be named."""
        if claim is not None and (earlier := self.snapshots.replay(account.id, claim, now)) is not None:
            return earlier, None
        try:
            chart = self.spaces.get_chart(account.id, valid.chart_id)
        except errors.NotFound:
            raise errors.InvalidParams.one("subject", f"chart {valid.chart_id} does not exist") from None
        owned = self.destinations.owned(account.id, valid.services) if self.destinations else {}
        unknown = [s for s in valid.services if s not in owned]
        if unknown:
            # Another account's service is refused exactly like a missing one.
            raise errors.InvalidParams.one("services", f"unknown service ids: {', '.join(unknown)[:200]}")
        named = [n for n in valid.annotations if n != annotation_rules.ALL_STREAMS]
        if named:
            # Another account's stream is refused exactly like a missing one.
            missing = self.annotations.unknown_stream_names(account.id, named) if self.annotations else named
            if missing:
                raise errors.InvalidParams.one("annotations",
                                               f"unknown annotation streams: {', '.join(missing)[:200]}")
        try:
            snap = self.snapshots.create(account.id, valid, now, {sid: owned[sid]["type"] for sid in valid.services},
                                         claim, chart_name=chart["name"],
                                         request_id=request_ids.current_request_id())
        except IntegrityError:
            # A concurrent request with the same key committed first: answer its snapshot.
            if claim is None or (winner := self.snapshots.replay(account.id, claim, now)) is None:
                raise
            return winner, None
        return snap, chart

    # -- queueing its render -------------------------------------------------
    def _build(self, account_id: int, snapshot_id: int, snap: dict | None = None,
               chart: dict | None = None) -> render_pb2.RenderRequest | None:
        """The request, always made from the snapshot's frozen data. The data is
        read and frozen from the snapshot and chart just written when the
        caller has them; the sweeper's case (no chart) uses what was frozen
        before, if anything was, and else reads the chart again; None when
        the chart is gone before its data was frozen (the job is then failed)."""
        snap = snap or self.snapshots.get(account_id, snapshot_id)
        frozen = None if chart is not None else self.snapshots.frozen(snapshot_id)
        if frozen is None:
            if chart is None:
                try:
                    chart = self.spaces.get_chart(account_id, snap["chart_id"])
                except errors.NotFound:
                    self._fail(snapshot_id, CHART_DELETED)
                    return None
            frozen = self._freeze(snap, chart)
        request = frozen_data.request_from(frozen.body)
        request.enqueued_at = time.time()
        return request

    def _freeze(self, snap: dict, chart: dict) -> FrozenData:
        """Read the chart's data over the window, with the snapshot's options
        and annotations, and freeze it with its summary (the first freeze of
        a snapshot wins: what was stored is returned)."""
        now = time.time()
        request = build_render_request(self.measurements, chart, snap, now)
        request.timezone, request.scale, request.theme = snap["timezone"], snap["scale"], snap["theme"]
        if snap["annotations"] and request.chart_type != "bignumber":  # no time axis to mark on a big number
            self._add_annotations(request, snap)
        body = frozen_data.body_of(request)
        summary = summary_of(body)
        body["drawing"]["summary"] = summary  # the PNG's tEXt chunk
        resolution = resolution_for(snap["duration"], snap["width"])
        return self.snapshots.freeze(snap["id"], FrozenData(resolution, body, now), summary)

    def _add_annotations(self, request: render_pb2.RenderRequest, snap: dict) -> None:
        if self.annotations is None:
            return
        limit = annotation_rules.MAX_ANNOTATIONS_PER_SNAPSHOT
        events = self.annotations.events_in_window(snap["account_id"], list(snap["annotations"]),
                                                   int(request.start), int(request.end), limit)
        for event in events[:limit]:
            marker = request.annotations.add(stream=event.stream, title=event.title or "", start=event.start,
                                             source=event.source or "")
            if event.end is not None:
                marker.end = event.end

    def _fail(self, snapshot_id: int, reason: str) -> None:
        self.snapshots.render_failed(snapshot_id, reason, time.time())

    async def publish_render(self, account_id: int, snapshot_id: int, snap: dict | None = None,
                             chart: dict | None = None, publish: int = 1) -> bool:
        """Queue the render; True once it is on the queue. A failure that will
        not go away (the data cannot be read into a request, or the request is
        too large for the queue) fails the job; anything else (queue
        unreachable, database busy) leaves it queued for the sweeper."""
        with request_ids.bound(snapshot_id=snapshot_id):
            return await self._publish_render(account_id, snapshot_id, snap, chart, publish)

    async def _publish_render(self, account_id: int, snapshot_id: int, snap: dict | None, chart: dict | None,
                              publish: int) -> bool:
        try:
            if snap is None:  # the sweeper's case, outside the call that took it
                snap = await asyncio.to_thread(self.snapshots.get, account_id, snapshot_id)
            # The request carries the id of the call that took the snapshot, whoever publishes it.
            request_ids.bind(request_id=snap.get("request_id"), job_id=snap.get("job_id"))
            request = await asyncio.to_thread(self._build, account_id, snapshot_id, snap, chart)
        except OperationalError as exc:
            log.warning("render request for snapshot %s not built yet: %s", snapshot_id, logs.failure(exc))
            return False
        except Exception:  # noqa: BLE001 - deterministic: building again gives the same error
            log.exception("render request for snapshot %s cannot be built", snapshot_id)
            await asyncio.to_thread(self._fail, snapshot_id, DATA_UNREADABLE)
            return False
        if request is None:
            return False
        try:
            seq = await self.renders.publish(request, publish)
        except RequestTooLarge:
            await asyncio.to_thread(self._fail, snapshot_id, TOO_LARGE)
            return False
        except Exception as exc:  # noqa: BLE001 - transient: the sweeper tries again
            log.warning("render request for snapshot %s not queued yet: %s", snapshot_id, logs.failure(exc))
            return False
        await asyncio.to_thread(self.snapshots.mark_published, snapshot_id, time.time(), seq)
        log.info("snapshot %s: render request queued (copy %s, stream sequence %s)", snapshot_id, publish, seq)
        return True

    def publish_soon(self, account_id: int, snap: dict, chart: dict) -> None:
        """Publish in the background: the client has its 202 as soon as the
        snapshot is committed, however long reading the chart's data takes."""
        task = asyncio.create_task(self.publish_render(account_id, snap["id"], snap, chart))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    # -- applying its results ------------------------------------------------
    # Every transition is guarded by the job's current state, so a result
    # delivered again changes nothing.
    async def render_started(self, snapshot_id: int) -> None:
        await asyncio.to_thread(self.snapshots.render_started, snapshot_id, time.time())

    async def render_succeeded(self, snapshot_id: int, image_key: str, png_sha256: str = "") -> None:
        """Record the image (and its SHA-256, when the result carries a sane
        one); then queue the deliveries, if any are pending. Raises if the
        queue refuses them (the caller retries the result)."""
        digest = png_sha256.lower() if PNG_SHA256.fullmatch(png_sha256.lower()) else None
        transition = await asyncio.to_thread(self.snapshots.render_succeeded, snapshot_id, image_key, time.time(),
                                             digest)
        log.info("snapshot %s: image stored", snapshot_id)
        self.observe(transition)
        if transition.deliveries_pending and self.deliveries is not None:
            await self.deliveries.dispatch(snapshot_id)

    async def render_failed(self, snapshot_id: int, error: str) -> None:
        await asyncio.to_thread(self.snapshots.render_failed, snapshot_id, error or "render failed", time.time())
