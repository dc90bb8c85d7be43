"""The queue and the image store, for real: NATS JetStream and the S3 store on
free ports, the snapshot service's adapters driven directly."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

from chartsnap import queue
from chartsnap.v1 import render_pb2
from chartsnap.image_store import ImageStore
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from tests.databases import migrated_engine
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.job_sweeper import JobSweeper
from snapshot_svc.jobs import Jobs
from snapshot_svc.render_queue import RenderQueue, ResultConsumer
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
def stores(database_url: str):  # noqa: ANN201
    engine = migrated_engine(database_url)
    account, _ = AccountStore(engine).create("queue@example.com")
    spaces = SpaceStore(engine)
    space = spaces.create_space(account.id, "s")
    chart = spaces.create_chart(account.id, space["id"], {"name": "c", "streams": [{"metric": "m"}]})
    return account, chart, spaces, MeasurementStore(engine), SnapshotStore(engine)


async def stream_messages(js, stream: str) -> int:  # noqa: ANN001
    return (await js.stream_info(stream)).state.messages


async def test_crash_before_publish_is_recovered_by_the_sweeper_once(js, stores) -> None:  # noqa: ANN001
    account, chart, spaces, measurements, snapshots = stores
    # The row is committed but the process "died" before publishing.
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time() - 60)
    rq = Jobs(snapshots, spaces, measurements, RenderQueue(js))
    assert snapshots.unpublished(time.time()) == [(account.id, snap["id"])]

    assert await JobSweeper(js, snapshots, rq).sweep_once() == 1
    assert snapshots.unpublished(time.time()) == []
    assert await stream_messages(js, "CHARTSNAP_RENDER") == 1
    # A second publish of the same snapshot (e.g. two sweepers) is dropped by JetStream.
    assert await rq.publish_render(account.id, snap["id"])
    assert await stream_messages(js, "CHARTSNAP_RENDER") == 1

    sub = await js.pull_subscribe(queue.RENDER_REQUESTS, durable="test-reader", stream="CHARTSNAP_RENDER")
    [msg] = await sub.fetch(1, timeout=5)
    request = render_pb2.RenderRequest.FromString(msg.data)
    assert request.snapshot_id == snap["id"] and request.title == "c" and request.chart_type == "line"
    assert request.image_key.startswith("chart/") and request.image_key.endswith(f"-{snap['id']}.png")
    await msg.ack()
    await js.delete_consumer("CHARTSNAP_RENDER", "test-reader")


async def test_results_are_applied_once_whatever_the_redelivery(js, stores) -> None:  # noqa: ANN001
    account, chart, spaces, measurements, snapshots = stores
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    key = snap["assigned_image_key"]
    consumer = ResultConsumer(js, Jobs(snapshots, spaces, measurements, RenderQueue(js)))
    task = asyncio.create_task(consumer.run())
    try:
        def result(state: int) -> bytes:
            return render_pb2.RenderResult(snapshot_id=snap["id"], job_id=snap["job_id"], image_key=key,
                                           state=state).SerializeToString()

        S = render_pb2.RenderResult
        for state in (S.STARTED, S.SUCCEEDED, S.STARTED, S.FAILED, S.SUCCEEDED):
            await js.publish(queue.RENDER_RESULTS, result(state))
        await js.publish(queue.RENDER_RESULTS, b"\xff not a protobuf")  # dropped, not retried forever

        async def settled() -> bool:
            return await stream_messages(js, "CHARTSNAP_RESULTS") == 0

        deadline = time.monotonic() + 10
        while not await settled():
            assert time.monotonic() < deadline, "results not consumed"
            await asyncio.sleep(0.05)
        job = snapshots.get_job(account.id, snap["job_id"])
        assert (job.state, job.progress, job.errors, job.image_key) == ("complete", 100.0, [], key)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_image_store_public_by_key_only(infra) -> None:  # noqa: ANN001
    store = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
    store.ensure_bucket()
    store.ensure_bucket()  # idempotent
    store.put_png("chart/abc-1.png", b"\x89PNG first")
    store.put_png("chart/abc-1.png", b"\x89PNG second")  # a retry overwrites, never duplicates
    store.client.put_object("chartsnap", "private/secret.txt", __import__("io").BytesIO(b"s"), 1)
    base = f"http://{infra.s3_endpoint}/chartsnap"
    public = requests.get(f"{base}/chart/abc-1.png", timeout=10)
    assert public.status_code == 200 and public.content == b"\x89PNG second"
    assert public.headers["Content-Type"] == "image/png"
    assert requests.get(f"{base}/private/secret.txt", timeout=10).status_code == 403
    assert requests.get(base, timeout=10).status_code == 403
    assert requests.get(f"{base}?list-type=2", timeout=10).status_code == 403
    assert [o.object_name for o in store.client.list_objects("chartsnap", prefix="chart/")] == ["chart/abc-1.png"]
