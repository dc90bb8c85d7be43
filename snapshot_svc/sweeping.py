"""The sweeper's rules: every job held to its bounds
(snapshot_svc.settings.JobBounds), swept every `sweep_interval` seconds and
told of crash loops by the queue (job_sweeper is the JetStream side):

- a never-published render request (a crash between commit and publish) is
  published;
- a render request that exhausts its deliveries without a result (the worker
  crashed every time) fails its job as soon as the max-deliveries advisory
  names it;
- a request gone from the render stream (acked without a result reaching us,
  terminated, deleted, purged) for `lost_request_grace` is published once
  more under a new Msg-Id, and the job fails if that one is lost too;
- a delivery with no result `delivery_deadline` after it was queued, whose
  request is gone from the delivery stream, is recorded failed;
- whatever else happens, a job still open `job_deadline` after its creation
  ends: failed if its image is not stored, else complete with its pending
  deliveries failed.

Several snapshot_svc replicas sweep one database at once, and each job is
acted on by one of them:

- Publishing a never-published request is claimed. A replica takes a batch
  with SELECT ... FOR UPDATE SKIP LOCKED and commits a lease on each job
  (jobs.sweep_claimed_until, SWEEP_LEASE) before it publishes anything; the
  other replicas skip leased jobs, so each is published by one replica. A
  replica that dies after claiming holds its jobs only until the lease runs
  out; one whose publish fails gives the job back at once. Claiming is needed
  here because publishing is the slow, outside-the-database step: a guarded
  UPDATE after it would come too late to stop the second publish.
- Every other repair (the job deadline, a lost request republished or
  failed, an overdue delivery) keeps one UPDATE guarded by the state it
  expects, written *before* the replica acts outside the database (the
  republish is claimed by `claim_republish`, a deadline is applied by the
  guarded `render_failed`), and only the replica whose UPDATE matched a row
  acts. PostgreSQL re-checks an UPDATE's WHERE on the row's newest version
  once a concurrent writer commits, so two replicas cannot both match; a
  batch lease would add a write per job per sweep and nothing else. The
  look-ups that lead to them (is the request still on the stream?) are
  read-only, so two replicas asking the same question is harmless.

Beside the jobs, each sweep takes one bounded step of measurement retention
(MeasurementStore.expire_once: rows past their resolution's retention).

A second copy of a request that does reach the queue anyway (a lease that ran
out mid-publish) is dropped by its Msg-Id.

What the sweeper does to a snapshot is logged with that snapshot's context
(`about`: its id, its job and the request id stored when it was taken), so
following one request finds the sweeper's lines about it too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import AsyncIterator, Protocol

from chartsnap import logs, request_ids
from chartsnap.idempotency_key import REUSE_AFTER
from snapshot_svc.jobs import Jobs
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshots import OpenJob, QueuedDelivery, PublishedRender, SnapshotStore

log = logging.getLogger(__name__)

UNPUBLISHED_GRACE = 10.0  # seconds a fresh job may wait before the sweeper publishes it
# How long a replica's claim on unpublished jobs holds: building and publishing
# a whole batch takes well under this, and a dead replica's jobs wait at most this.
SWEEP_LEASE = 60.0
MAX_PUBLISHES = 2  # a lost render request is published once more, then its job fails
SWEEP_BATCH = 100  # jobs each step of one sweep looks at


class QueueLookup(Protocol):
    """What the sweeper asks the queue (job_sweeper.JetStreamLookup). Each
    method but drop_render_request raises when the queue cannot be asked."""

    async def snapshot_at(self, seq: int) -> int | None:
        """The snapshot whose render request is at `seq`; None when none is."""

    async def delivery_request_present(self, delivery: QueuedDelivery) -> bool:
        """Its request is still on the delivery stream."""

    async def drop_render_request(self, seq: int) -> None:
        """Remove the render request at `seq` (harmless if it stays: its job is terminal)."""


class Sweeper:
    def __init__(self, snapshots: SnapshotStore, renders: Jobs, streams: QueueLookup,
                 bounds: JobBounds = JobBounds()) -> None:
        self.snapshots = snapshots
        self.renders = renders
        self.streams = streams
        self.bounds = bounds

    @contextlib.asynccontextmanager
    async def about(self, snapshot_id: int) -> AsyncIterator[None]:
        """The block runs with the snapshot's log context bound (read only when
        the sweeper acts on a snapshot, which is rare)."""
        try:
            snap = await asyncio.to_thread(self.snapshots.get, None, snapshot_id)
        except Exception:  # noqa: BLE001 - the line is still written, with what is known
            snap = {}
        with request_ids.bound(snapshot_id=snapshot_id, job_id=snap.get("job_id"),
                               request_id=snap.get("request_id")):
            yield

    async def sweep_once(self, grace: float = UNPUBLISHED_GRACE) -> int:
        """One pass of every bound (see the module docstring); returns how many
        never-published requests it published."""
        now = time.time()
        await self._enforce_deadlines(now)
        await asyncio.to_thread(self.snapshots.forget_idempotency_keys, now - REUSE_AFTER)
        # Measurements past their resolution's retention, a bounded step per sweep.
        await asyncio.to_thread(self.renders.measurements.expire_once, now)
        stale = await asyncio.to_thread(self.snapshots.claim_unpublished, now - grace, now, SWEEP_LEASE,
                                        SWEEP_BATCH)
        published = 0
        for account_id, snapshot_id in stale:
            if await self.renders.publish_render(account_id, snapshot_id):
                published += 1
            else:
                await asyncio.to_thread(self.snapshots.release_claim, snapshot_id)
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
            async with self.about(job.snapshot_id):
                await self._end_at_deadline(job, deadline, now)
        overdue = await asyncio.to_thread(
            self.snapshots.deliveries_dispatched_before, now - self.bounds.delivery_deadline, SWEEP_BATCH)
        for delivery in overdue:
            try:
                still_queued = delivery.request_seq is not None and await self.streams.delivery_request_present(delivery)
            except Exception as exc:  # noqa: BLE001 - JetStream unreachable: look again next sweep
                log.warning("cannot look up delivery requests: %s", logs.failure(exc))
                return
            if still_queued:
                await asyncio.to_thread(self.snapshots.delivery_still_queued, delivery.snapshot_id,
                                        delivery.service_id, now)
                continue
            async with self.about(delivery.snapshot_id):
                with request_ids.bound(delivery_id=f"{delivery.snapshot_id}:{delivery.service_id}"):
                    await asyncio.to_thread(
                        self.snapshots.delivery_ended, delivery.snapshot_id, delivery.service_id, "failed", 0,
                        f"no result from the notifier within {self.bounds.delivery_deadline:.0f} s", now)
                    log.warning("delivery %s:%s had no result by its deadline, failed", delivery.snapshot_id,
                                delivery.service_id)

    async def _end_at_deadline(self, job: OpenJob, deadline: float, now: float) -> None:
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
                await self.streams.drop_render_request(job.render_seq)

    async def _find_lost_requests(self, now: float) -> None:
        """Look up published, unrendered jobs' requests on the render stream.
        Gone for a whole grace with no result: publish again once, then fail."""
        grace = self.bounds.lost_request_grace
        for render in await asyncio.to_thread(self.snapshots.requests_to_check, now - grace, now - grace,
                                              SWEEP_BATCH):
            try:
                # Another snapshot's request at that sequence (a stream made
                # again numbers from 1) means ours is gone too.
                present = await self.streams.snapshot_at(render.seq) == render.snapshot_id
            except Exception as exc:  # noqa: BLE001 - JetStream unreachable: look again next sweep
                log.warning("cannot look up render requests: %s", logs.failure(exc))
                return
            gone_since = await asyncio.to_thread(self.snapshots.request_seen, render.snapshot_id, render.seq,
                                                 present, now)
            if gone_since is None or gone_since > now - grace:
                continue
            async with self.about(render.snapshot_id):
                await self._republish_or_fail(render, now)

    async def _republish_or_fail(self, render: PublishedRender, now: float) -> None:
        """A render request gone for a whole grace: published once more, or its job failed."""
        if render.publishes < MAX_PUBLISHES and await asyncio.to_thread(
                self.snapshots.claim_republish, render.snapshot_id, render.seq, render.publishes):
            log.warning("snapshot %s: render request lost from the queue, publishing it again",
                        render.snapshot_id)
            if not await self.renders.publish_render(render.account_id, render.snapshot_id,
                                                     publish=render.publishes + 1):
                await asyncio.to_thread(self.snapshots.undo_republish, render.snapshot_id, render.seq,
                                        render.publishes)
        elif render.publishes >= MAX_PUBLISHES and await asyncio.to_thread(
                self.snapshots.render_failed, render.snapshot_id,
                f"the render request was lost from the queue {render.publishes} times", now):
            log.error("snapshot %s: render request lost again, job failed", render.snapshot_id)

    async def crash_looped(self, seq: int, deliveries: int) -> None:
        """The render request at `seq` used up its deliveries without a
        result (JetStream's max-deliveries advisory): fail its job at once."""
        try:
            # The work queue keeps the exhausted message: it names its snapshot.
            snapshot_id = await self.streams.snapshot_at(seq)
        except Exception:  # noqa: BLE001 - fall back on the sequence recorded at publish
            snapshot_id = None
        try:
            if snapshot_id is None:
                snapshot_id = await asyncio.to_thread(self.snapshots.open_snapshot_at_seq, seq)
            if snapshot_id is not None:
                async with self.about(snapshot_id):
                    if await asyncio.to_thread(
                            self.snapshots.render_failed, snapshot_id,
                            f"the render crashed on every attempt ({deliveries} deliveries without a result)",
                            time.time(), seq):
                        log.error("snapshot %s: render request delivered %s times without a result, job failed",
                                  snapshot_id, deliveries)
        except Exception:  # noqa: BLE001 - the job deadline still holds
            log.exception("applying max-deliveries advisory for stream sequence %s failed", seq)
            return
        # A work queue keeps a message that ran out of deliveries; nothing will take it now.
        await self.streams.drop_render_request(seq)

