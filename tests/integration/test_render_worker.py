"""The render worker on real NATS, the S3 store and Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
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


async def test_worker_renders_stores_and_reports(infra, pool, caplog) -> None:  # noqa: ANN001
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
        good.summary = "Worker: a peaked at 6 at 14:32 UTC, ended at 3; 1 stream"
        bad = render_pb2.RenderRequest(snapshot_id=9002, job_id=2, image_key="chart/worker-test-9002.png",
                                       title="Broken", chart_type="no-such-type", width=600, height=416)
        # Every new option at once, at retina scale and dark, with a summary beyond Latin-1 (an iTXt chunk).
        retina = render_pb2.RenderRequest()
        retina.CopyFrom(good)
        retina.snapshot_id, retina.job_id, retina.image_key = 9003, 3, "chart/worker-test-9003.png"
        retina.scale, retina.theme, retina.timezone, retina.y_units_short = 2, "dark", "America/New_York", "ms"
        retina.annotations.add(stream="deploys", title="deploy v42", start=now - 300)
        retina.annotations.add(stream="incidents", title="outage", start=now - 200, end=now - 100)
        retina.summary = "Worker: a peaked at 6 — キュー ✓"
        # Odd option values (snapshot_svc would refuse them): drawn with the defaults and logged.
        odd = render_pb2.RenderRequest()
        odd.CopyFrom(good)
        odd.snapshot_id, odd.job_id, odd.image_key = 9004, 4, "chart/worker-test-9004.png"
        odd.scale, odd.theme, odd.timezone, odd.summary = 4, "x", "Nowhere/Else", ""
        for request in (good, bad, retina, odd):
            await js.publish(queue.RENDER_REQUESTS, request.SerializeToString())
        with caplog.at_level(logging.WARNING, logger="render_svc.render_options"):
            results = await collect_results(js, 8)
        states = {(r.snapshot_id, r.state) for r in results}
        assert states == {(9001, S.STARTED), (9001, S.SUCCEEDED), (9002, S.STARTED), (9002, S.FAILED),
                          (9003, S.STARTED), (9003, S.SUCCEEDED), (9004, S.STARTED), (9004, S.SUCCEEDED)}
        failed = next(r for r in results if r.state == S.FAILED)
        assert "not retried" in failed.error  # an invalid chart is not worth another attempt
        succeeded = {r.snapshot_id: r for r in results if r.state == S.SUCCEEDED}
        stored = {request.snapshot_id: images.get(request.image_key) for request in (good, retina, odd)}
        for snapshot_id, png in stored.items():
            # The digest is of exactly the bytes in the store.
            assert succeeded[snapshot_id].png_sha256 == hashlib.sha256(png).hexdigest()
        image = Image.open(io.BytesIO(stored[9001]))
        assert image.size == (640, 320) and image.format == "PNG"
        assert image.text == {"Software": "chartsnap", "Description": good.summary}
        assert image.getpixel((0, 0))[:3] == (255, 255, 255)
        image = Image.open(io.BytesIO(stored[9003]))
        assert image.size == (1280, 640)
        assert image.text == {"Software": "chartsnap", "Description": retina.summary}
        assert image.convert("RGB").getpixel((3, 3)) == (0x11, 0x18, 0x27)  # the dark theme's background
        image = Image.open(io.BytesIO(stored[9004]))
        assert image.size == (640, 320) and image.text == {"Software": "chartsnap"}
        assert image.convert("RGB").getpixel((3, 3)) == (255, 255, 255)
        warnings = " ".join(r.getMessage() for r in caplog.records if r.name == "render_svc.render_options")
        assert "Nowhere/Else" in warnings and "scale 4" in warnings and "theme 'x'" in warnings
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
