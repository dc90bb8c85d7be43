"""Every job terminal within its bound, under the faults that used to strand
one: a render request that crashes its worker on every delivery, a published
request lost from the stream, renders and deliveries that never report.

Real parts: NATS JetStream (the `infra` fixture), the snapshot service started
by its factory (gRPC, SQLite, its sweeper and result consumers), and in place
of the render service a real JetStream pull consumer on the render workers'
durable that this test drives — it takes each request and drops it (a crash),
or reports like a worker would. The bounds are derived from the JobBounds
each test sets, never bare constants."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import grpc
import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig

from chartsnap import queue
from chartsnap.basic_auth import basic_header
from chartsnap.nats_authorization import SNAPSHOT_USER
from chartsnap.settings import NatsLogin
from chartsnap.v1 import delivery_pb2, render_pb2, snapshots_pb2, snapshots_pb2_grpc
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from tests.databases import migrated_engine
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.server import SnapshotService, start_snapshot_service
from snapshot_svc.settings import JobBounds, SnapshotSettings
from snapshot_svc.snapshots import SnapshotStore

pytestmark = [pytest.mark.timeout(180)]

TERMINAL = ("complete", "failed")
SLACK = 5.0  # seconds of scheduling noise on a shared 2-core machine, added to every bound


@dataclass
class Running:
    service: SnapshotService
    stub: snapshots_pb2_grpc.SnapshotServiceStub
    channel: grpc.aio.Channel
    metadata: tuple
    snapshots: SnapshotStore
    chart_id: int
    service_id: str

    async def create(self, **fields) -> snapshots_pb2.Snapshot:  # noqa: ANN003
        request = snapshots_pb2.CreateSnapshotRequest(
            subject=snapshots_pb2.SnapshotSubject(chart_id=self.chart_id, chart_type="line"), **fields)
        return await self.stub.CreateSnapshot(request, metadata=self.metadata, timeout=10)

    async def job(self, job_id: int) -> snapshots_pb2.Job:
        return await self.stub.GetJob(snapshots_pb2.GetJobRequest(id=job_id), metadata=self.metadata, timeout=10)


async def _start(infra, tmp_path, bounds: JobBounds) -> Running:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'snapshots.db'}"
    engine = migrated_engine(url)
    account, token = AccountStore(engine).create("bounds@example.com", "Bounds")
    spaces = SpaceStore(engine)
    space = spaces.create_space(account.id, "faults")
    chart = spaces.create_chart(account.id, space["id"], {"name": "c", "streams": [{"metric": "m"}]})
    destination = DestinationStore(engine).create(account.id, "ops", "mail", {"addresses": "ops@example.com"})
    settings = SnapshotSettings(
        listen_addr="127.0.0.1:0", database_url=url, 
        # Its own login, as deployed: the advisory and stream look-ups must fit its permissions.
        nats=infra.nats_settings(NatsLogin(SNAPSHOT_USER, infra.nats_passwords[SNAPSHOT_USER])),
        image_base_url="http://127.0.0.1:9/images", public_url="http://127.0.0.1:8080", db_threads=16,
        metrics_addr="127.0.0.1:0", bounds=bounds)
    service = await start_snapshot_service(settings)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    return Running(service, snapshots_pb2_grpc.SnapshotServiceStub(channel), channel,
                   (("authorization", basic_header(account.email, token)),), SnapshotStore(engine), chart["id"],
                   str(destination["id"]))


async def _stop(running: Running) -> None:
    await running.channel.close()
    await running.service.stop(grace=1.0)


async def _wait_terminal(running: Running, job_id: int, bound: float) -> tuple[snapshots_pb2.Job, float]:
    """The job once terminal, and how long that took; fails past `bound` seconds."""
    t0 = time.monotonic()
    while True:
        job = await running.job(job_id)
        if job.state in TERMINAL:
            return job, time.monotonic() - t0
        assert time.monotonic() - t0 < bound, f"job {job_id} still {job.state} after {bound:.1f} s"
        await asyncio.sleep(0.1)


async def _render_workers(js, ack_wait: float, max_deliver: int):  # noqa: ANN001, ANN202
    """The render service's durable consumer, as it configures it (max_deliver
    = attempts + 2), with a short ack wait so crashes are redelivered fast."""
    return await js.pull_subscribe(
        queue.RENDER_REQUESTS, durable=queue.RENDER_WORKERS, stream=queue.RENDER_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait, max_deliver=max_deliver))


async def _report(js, request: render_pb2.RenderRequest, state: int) -> None:  # noqa: ANN001
    await js.publish(queue.RENDER_RESULTS, render_pb2.RenderResult(
        snapshot_id=request.snapshot_id, job_id=request.job_id, image_key=request.image_key,
        state=state).SerializeToString())


async def _stream_messages(js, stream: str) -> int:  # noqa: ANN001
    return (await js.stream_info(stream)).state.messages


async def test_a_crash_looping_render_fails_its_job_once_its_deliveries_run_out(infra, js, tmp_path) -> None:  # noqa: ANN001
    """Bound: a render request whose every delivery crashes the worker (taken,
    STARTED reported, never acked, never FAILED) fails its job within
    max_deliver × ack_wait + SLACK of its creation, from JetStream's
    max-deliveries advisory — far inside the job deadline (600 s here, 14 min
    by default), so the deadline cannot be what ended it."""
    render_attempts, ack_wait = 2, 1.0
    max_deliver = render_attempts + 2
    bounds = JobBounds(job_deadline=600.0, delivery_deadline=600.0, lost_request_grace=600.0, sweep_interval=0.5)
    running = await _start(infra, tmp_path, bounds)
    try:
        workers = await _render_workers(js, ack_wait, max_deliver)
        snap = await running.create()
        bound = max_deliver * ack_wait + SLACK
        crashes, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < bound:
            try:
                msgs = await workers.fetch(1, timeout=0.5)
            except NatsTimeout:
                job = await running.job(snap.job_id)
                if job.state in TERMINAL:
                    break
                continue
            for msg in msgs:
                request = render_pb2.RenderRequest.FromString(msg.data)
                assert request.snapshot_id == snap.id
                await _report(js, request, render_pb2.RenderResult.STARTED)
                crashes += 1  # the worker "dies" holding it: no ack, no result
        job, _ = await _wait_terminal(running, snap.job_id, max(0.5, bound - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        assert crashes == max_deliver, f"injected {crashes} crashes, JetStream allows {max_deliver} deliveries"
        assert job.state == "failed"
        assert list(job.errors) == [f"the render crashed on every attempt ({max_deliver} deliveries without a result)"]
        assert elapsed < bound < bounds.job_deadline
        # The exhausted request does not linger on the work queue.
        deadline = time.monotonic() + SLACK
        while await _stream_messages(js, queue.RENDER_STREAM):
            assert time.monotonic() < deadline, "the crash-looped request stayed on the render stream"
            await asyncio.sleep(0.1)
    finally:
        await _stop(running)


@pytest.mark.parametrize("first_loss", ["deleted", "terminated"])
async def test_a_lost_render_request_is_published_again_then_fails_if_lost_again(infra, js, tmp_path,  # noqa: ANN001
                                                                                 first_loss: str) -> None:
    """Bound: a request gone from the render stream with no result (deleted,
    or terminated by a consumer that reported nothing) is published again
    (new Msg-Id) within 2 × (lost_request_grace + sweep_interval) + SLACK of
    its loss; lost a second time (a purge), the job fails within the same
    bound. The job stays `queued` in between."""
    bounds = JobBounds(job_deadline=600.0, delivery_deadline=600.0, lost_request_grace=1.0, sweep_interval=0.25)
    bound = 2 * (bounds.lost_request_grace + bounds.sweep_interval) + SLACK
    running = await _start(infra, tmp_path, bounds)
    losses = 0
    try:
        snap = await running.create()
        deadline = time.monotonic() + SLACK
        while (info := await js.stream_info(queue.RENDER_STREAM)).state.messages != 1:
            assert time.monotonic() < deadline, "the render request was never published"
            await asyncio.sleep(0.05)
        first_seq = info.state.last_seq
        if first_loss == "deleted":
            assert await js.delete_msg(queue.RENDER_STREAM, first_seq)
        else:
            workers = await _render_workers(js, ack_wait=60.0, max_deliver=-1)
            [msg] = await workers.fetch(1, timeout=5)
            await msg.term()
            while await _stream_messages(js, queue.RENDER_STREAM):  # a term removes it from the work queue
                assert time.monotonic() < deadline + SLACK, "the terminated request stayed on the stream"
                await asyncio.sleep(0.05)
            await js.delete_consumer(queue.RENDER_STREAM, queue.RENDER_WORKERS)
        losses += 1

        t0 = time.monotonic()
        while (info := await js.stream_info(queue.RENDER_STREAM)).state.messages != 1:
            assert time.monotonic() - t0 < bound, "the lost request was not published again"
            await asyncio.sleep(0.05)
        again = await js.get_msg(queue.RENDER_STREAM, info.state.last_seq)
        assert info.state.last_seq > first_seq
        assert again.headers["Nats-Msg-Id"] == f"render-{snap.id}-2"
        assert render_pb2.RenderRequest.FromString(again.data).snapshot_id == snap.id
        assert (await running.job(snap.job_id)).state == "queued"

        await js.purge_stream(queue.RENDER_STREAM)
        losses += 1
        job, took = await _wait_terminal(running, snap.job_id, bound)
        assert losses == 2
        assert job.state == "failed" and list(job.errors) == ["the render request was lost from the queue 2 times"]
        assert took < bound
        assert await _stream_messages(js, queue.RENDER_STREAM) == 0  # no third copy
    finally:
        await _stop(running)


async def test_every_job_is_terminal_by_its_deadline(infra, js, tmp_path) -> None:  # noqa: ANN001
    """Bound: every job is terminal within job_deadline + sweep_interval +
    SLACK of its creation, whatever went missing: requests nobody takes
    (render service down), a render STARTED and then silent, deliveries whose
    result is lost (failed at delivery_deadline after being queued, the job
    then complete) or that a notifier holds forever (failed at the job
    deadline)."""
    bounds = JobBounds(job_deadline=6.0, delivery_deadline=2.0, lost_request_grace=600.0, sweep_interval=0.25)
    bound = bounds.job_deadline + bounds.sweep_interval + SLACK
    running = await _start(infra, tmp_path, bounds)
    created: dict[int, float] = {}  # job id -> when its snapshot was created
    try:
        # No render service yet: these requests wait on the stream, untaken.
        untaken = [await running.create() for _ in range(3)]
        for snap in untaken:
            created[snap.job_id] = time.monotonic()
        for snap in untaken:
            job, _ = await _wait_terminal(running, snap.job_id, bound)
            assert time.monotonic() - created[snap.job_id] < bound
            assert (job.state, list(job.errors)) == (
                "failed", [f"the chart was not drawn within the job deadline ({bounds.job_deadline:.0f} s)"])
        assert await _stream_messages(js, queue.RENDER_STREAM) == 0  # their requests are withdrawn

        # A render service that hangs on one request and renders the others,
        # and a notifier that takes every delivery: it loses the results of
        # two (acks, reports nothing) and holds the third (never acks).
        workers = await _render_workers(js, ack_wait=60.0, max_deliver=-1)
        notifier = await js.pull_subscribe(
            queue.DELIVERY_REQUESTS, durable=queue.NOTIFIER_WORKERS, stream=queue.DELIVERY_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=60.0))
        hung = await running.create()
        delivered = [await running.create(services=[running.service_id]) for _ in range(3)]
        held = delivered[-1]
        for snap in (hung, *delivered):
            created[snap.job_id] = time.monotonic()
        taken: list[int] = []
        while len(taken) < 1 + len(delivered):
            try:
                msgs = await workers.fetch(1, timeout=1.0)
            except NatsTimeout:
                continue
            for msg in msgs:
                request = render_pb2.RenderRequest.FromString(msg.data)
                taken.append(request.snapshot_id)
                await _report(js, request, render_pb2.RenderResult.STARTED)
                if request.snapshot_id != hung.id:
                    await _report(js, request, render_pb2.RenderResult.SUCCEEDED)
                    await msg.ack()
        assert sorted(taken) == sorted([hung.id, *(s.id for s in delivered)])
        results_lost, held_deliveries = 0, 0
        while results_lost + held_deliveries < len(delivered):
            try:
                msgs = await notifier.fetch(1, timeout=1.0)
            except NatsTimeout:
                continue
            for msg in msgs:
                if delivery_pb2.DeliveryRequest.FromString(msg.data).snapshot_id == held.id:
                    held_deliveries += 1  # in the notifier's hands, never finished
                else:
                    await msg.ack()
                    results_lost += 1

        for snap in delivered:
            job, _ = await _wait_terminal(running, snap.job_id, bound)
            assert time.monotonic() - created[snap.job_id] < bound
            assert job.state == "complete"
            # A request gone from the stream without a result fails at the
            # delivery deadline; one still held ends at the job deadline.
            reason = (f"no result from the notifier within the job deadline ({bounds.job_deadline:.0f} s)"
                      if snap.id == held.id else
                      f"no result from the notifier within {bounds.delivery_deadline:.0f} s")
            assert [(d.state, d.error) for d in job.deliveries] == [("failed", reason)]
        job, _ = await _wait_terminal(running, hung.job_id, bound)
        assert time.monotonic() - created[hung.job_id] < bound
        assert job.state == "failed" and "job deadline" in job.errors[0]

        injected = {"untaken": len(untaken), "hung": 1, "results lost": results_lost, "held": held_deliveries}
        assert injected == {"untaken": 3, "hung": 1, "results lost": 2, "held": 1}
        assert len(created) == sum(injected.values())
        assert running.snapshots.open_jobs_created_before(time.time() + 1) == []  # nothing left open
    finally:
        await _stop(running)
