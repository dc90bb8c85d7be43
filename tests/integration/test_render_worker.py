"""The render worker on real NATS, the S3 store and Chromium."""

from __future__ import annotations

import asyncio
import io
import time

import nats
import nats.js.errors
import pytest
from minio.error import S3Error
from nats.js.api import AckPolicy, ConsumerConfig
from PIL import Image

from chartsnap import queue
from chartsnap.v1 import render_pb2
from chartsnap.image_store import ImageStore
from render_svc.browser_pool import RendererPool
from render_svc.retry_budget import ACK_WAIT_S
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


async def test_a_request_delivered_past_its_attempts_fails_at_once_without_rendering(infra, pool) -> None:  # noqa: ANN001
    """Deliveries that ended with no verdict (here: taken and nak'ed by this
    test, as a worker that crashed mid-render would leave them) use up the
    attempts; the next delivery reports FAILED naming them, renders nothing
    (no STARTED, no image) and is termed."""
    max_attempts = 2
    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    for stream in ("CHARTSNAP_RENDER", "CHARTSNAP_RESULTS"):
        await js.purge_stream(stream)
    try:
        await js.delete_consumer(queue.RENDER_STREAM, queue.RENDER_WORKERS)
    except nats.js.errors.NotFoundError:
        pass
    images = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
    images.ensure_bucket()
    worker = RenderWorker(js, pool, images, slots=1, max_attempts=max_attempts)
    request = render_pb2.RenderRequest(snapshot_id=9101, job_id=3, image_key="chart/worker-test-9101.png",
                                       title="Crash loop", chart_type="line", width=600, height=416,
                                       enqueued_at=time.time())
    await js.publish(queue.RENDER_REQUESTS, request.SerializeToString())
    crashed = await js.pull_subscribe(
        queue.RENDER_REQUESTS, durable=queue.RENDER_WORKERS, stream=queue.RENDER_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S, max_deliver=max_attempts + 2,
                              max_ack_pending=1000))
    injected = 0
    for _ in range(max_attempts):
        (msg,) = await crashed.fetch(1, timeout=10.0)
        await msg.nak()
        injected += 1
    await crashed.unsubscribe()
    task = asyncio.create_task(worker.run())
    try:
        results = await collect_results(js, 1)
        assert injected == max_attempts
        assert [(r.snapshot_id, r.state) for r in results] == [(9101, S.FAILED)]
        assert f"did not finish in {max_attempts} deliveries" in results[0].error
        assert results[0].attempt == max_attempts + 1
        await asyncio.sleep(1.0)  # the term reaches the server after the FAILED result
        assert (await js.stream_info(queue.RENDER_STREAM)).state.messages == 0, "the request was termed"
        with pytest.raises(S3Error, match="NoSuchKey"):  # nothing was rendered or stored
            images.get(request.image_key)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.stop()
        await nc.close()
