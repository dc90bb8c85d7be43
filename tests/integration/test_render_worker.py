"""The render worker on real NATS, the S3 store and Chromium."""

from __future__ import annotations

import asyncio
import io
import time

import nats
import pytest
from PIL import Image

from chartsnap import queue
from chartsnap.v1 import render_pb2
from chartsnap.image_store import ImageStore
from render_svc.warm_renderer import RendererPool
from render_svc.worker import RenderWorker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
S = render_pb2.RenderResult


@pytest.fixture(scope="module")
def pool():  # noqa: ANN201
    pool = RendererPool(size=1)
    yield pool
    pool.close()


async def collect_results(js, count: int, timeout: float = 30.0) -> list[render_pb2.RenderResult]:  # noqa: ANN001
    sub = await js.pull_subscribe(queue.RENDER_RESULTS, durable="worker-test", stream="CHARTSNAP_RESULTS")
    results = []
    deadline = time.monotonic() + timeout
    try:
        while len(results) < count and time.monotonic() < deadline:
            try:
                for msg in await sub.fetch(count - len(results), timeout=1.0):
                    results.append(render_pb2.RenderResult.FromString(msg.data))
                    await msg.ack()
            except nats.errors.TimeoutError:
                pass
    finally:
        await js.delete_consumer("CHARTSNAP_RESULTS", "worker-test")
    return results


async def test_worker_renders_stores_and_reports(infra, pool) -> None:  # noqa: ANN001
    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    for stream in ("CHARTSNAP_RENDER", "CHARTSNAP_RESULTS"):
        await js.purge_stream(stream)
    images = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
    images.ensure_bucket()
    worker = RenderWorker(js, pool, images, slots=1, max_attempts=1)
    task = asyncio.create_task(worker.run())
    try:
        now = time.time()
        good = render_pb2.RenderRequest(
            snapshot_id=9001, job_id=1, image_key="chart/worker-test-9001.png", title="Worker", chart_type="line",
            width=640, height=320, start=now - 600, end=now, enqueued_at=now)
        good.series.add(label="a", color="#9467bd", times=[now - 600 + 10 * i for i in range(60)],
                        values=[float(i % 7) for i in range(60)])
        bad = render_pb2.RenderRequest(snapshot_id=9002, job_id=2, image_key="chart/worker-test-9002.png",
                                       title="Broken", chart_type="no-such-type", width=600, height=416)
        await js.publish(queue.RENDER_REQUESTS, good.SerializeToString())
        await js.publish(queue.RENDER_REQUESTS, bad.SerializeToString())
        results = await collect_results(js, 4)
        states = {(r.snapshot_id, r.state) for r in results}
        assert states == {(9001, S.STARTED), (9001, S.SUCCEEDED), (9002, S.STARTED), (9002, S.FAILED)}
        failed = next(r for r in results if r.state == S.FAILED)
        assert "not retried" in failed.error  # an invalid chart is not worth another attempt
        image = Image.open(io.BytesIO(images.get("chart/worker-test-9001.png")))
        assert image.size == (640, 320) and image.format == "PNG"
        assert (await js.stream_info("CHARTSNAP_RENDER")).state.messages == 0, "every request acked or termed"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.stop()
        await nc.close()
