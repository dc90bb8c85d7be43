"""Two snapshot_svc replicas sweeping one database at once act once: a lost
render request is published again by one of them only, and a job past its
deadline is failed (and its request withdrawn) by one. Real NATS JetStream,
on SQLite and on PostgreSQL; the two replicas are two JobSweepers."""

from __future__ import annotations

import asyncio
import time

import pytest

from chartsnap import queue
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from tests.databases import migrated_engine
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.job_sweeper import JobSweeper
from snapshot_svc.jobs import Jobs
from snapshot_svc.render_queue import RenderQueue
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate

pytestmark = [pytest.mark.timeout(60)]

REPLICAS = 2


def _replicas(js, database_url: str, bounds: JobBounds):  # noqa: ANN001, ANN202
    engine = migrated_engine(database_url)
    account, _ = AccountStore(engine).create("replicas@example.com")
    spaces = SpaceStore(engine)
    chart = spaces.create_chart(account.id, spaces.create_space(account.id, "s")["id"],
                                {"name": "c", "streams": [{"metric": "m"}]})
    snapshots = SnapshotStore(engine)
    sweepers = [JobSweeper(js, SnapshotStore(engine),
                           Jobs(SnapshotStore(engine), spaces, MeasurementStore(engine), RenderQueue(js)), bounds)
                for _ in range(REPLICAS)]
    return account, chart, snapshots, sweepers


async def _sweep_together(sweepers: list[JobSweeper]) -> None:
    await asyncio.gather(*(s.sweep_once() for s in sweepers))


async def test_a_lost_request_is_republished_by_one_replica(js, database_url: str) -> None:  # noqa: ANN001
    bounds = JobBounds(job_deadline=600.0, delivery_deadline=600.0, lost_request_grace=0.2, sweep_interval=0.1)
    account, chart, snapshots, sweepers = _replicas(js, database_url, bounds)
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    assert await sweepers[0].renders.publish_render(account.id, snap["id"])
    first_seq = (await js.stream_info(queue.RENDER_STREAM)).state.last_seq
    await js.delete_msg(queue.RENDER_STREAM, first_seq)

    deadline = time.monotonic() + 10 * (bounds.lost_request_grace + bounds.sweep_interval) + 5
    while (await js.stream_info(queue.RENDER_STREAM)).state.messages == 0:
        assert time.monotonic() < deadline, "the lost request was never published again"
        await _sweep_together(sweepers)
        await asyncio.sleep(bounds.sweep_interval)
    for _ in range(5):  # more rounds change nothing while the new copy is there
        await _sweep_together(sweepers)
    info = (await js.stream_info(queue.RENDER_STREAM)).state
    assert info.messages == 1 and info.last_seq == first_seq + 1  # one republish, by one replica
    [render] = snapshots.requests_to_check(time.time() + 1, time.time() + 1)
    assert (render.seq, render.publishes) == (first_seq + 1, 2)


async def test_a_job_past_its_deadline_is_failed_once_and_its_request_withdrawn(js, database_url: str) -> None:  # noqa: ANN001
    bounds = JobBounds(job_deadline=0.5, delivery_deadline=600.0, lost_request_grace=600.0, sweep_interval=0.1)
    account, chart, snapshots, sweepers = _replicas(js, database_url, bounds)
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    assert await sweepers[0].renders.publish_render(account.id, snap["id"])
    await asyncio.sleep(bounds.job_deadline)
    await _sweep_together(sweepers)
    job = snapshots.get_job(account.id, snap["job_id"])
    assert (job.state, job.errors) == ("failed", ["the chart was not drawn within the job deadline (0 s)"])
    assert (await js.stream_info(queue.RENDER_STREAM)).state.messages == 0
