"""Builds the render service from settings: warm browsers, the image bucket,
NATS, the worker, and a gRPC health endpoint for probes.

Health is NOT_SERVING until the bucket is ensured (the service waits for an
S3 store that is down, with backoff, instead of exiting), the browsers have
had their first start and NATS is connected; afterwards it follows
RendererPool.can_render(): NOT_SERVING while no browser serves and the latest
start failed, SERVING again once one starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Iterator

import grpc
from nats.aio.client import Client as NATS

from chartsnap import queue
from chartsnap.nats_connection import connect_nats
from chartsnap.grpc_server import add_health, bind, mark_not_serving, mark_serving
from chartsnap.image_store import ImageStore, image_store_for
from chartsnap.metrics import MetricsServer, serve_metrics
from chartsnap.settings import CLOSE_BUDGET_S
from render_svc import render_metrics
from render_svc.browser_pool import RendererPool, seconds_left
from render_svc.settings import RenderSettings
from render_svc.warm_renderer import BrowserOptions
from render_svc.worker import CAN_RENDER_POLL_S, RenderWorker

log = logging.getLogger(__name__)
SERVICE_NAMES = ["chartsnap.v1.RenderWorker"]
# Waits between attempts to ensure the image bucket while the S3 store is
# unreachable: doubling from the first, capped; logged every time.
S3_RETRY_FIRST_DELAY_S = 0.5
S3_RETRY_MAX_DELAY_S = 10.0


@dataclass
class RenderService:
    server: grpc.aio.Server
    health_port: int
    nc: NATS
    health: object
    pool: RendererPool
    worker: RenderWorker
    task: asyncio.Task
    metrics: MetricsServer
    pool_metrics: render_metrics.BrowserPoolCollector
    health_task: asyncio.Task

    async def stop(self, grace: float = 5.0) -> None:
        """Renders in flight get `grace` seconds; closing (NATS, the browsers,
        the health server) gets CLOSE_BUDGET_S after that, each step what is
        left of it; the steps' times are logged, so a slow stop says where."""
        took: dict[str, float] = {}
        self.health_task.cancel()
        await asyncio.gather(self.health_task, return_exceptions=True)
        await mark_not_serving(self.health, SERVICE_NAMES)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        with _timed(took, "renders"):
            await self.worker.stop(grace)
        deadline = time.monotonic() + CLOSE_BUDGET_S
        with _timed(took, "NATS"):
            # Not drain(): every message is acked explicitly, and draining a pull
            # subscription waits out its whole drain timeout.
            try:
                await asyncio.wait_for(self.nc.close(), seconds_left(deadline))
            except asyncio.TimeoutError:
                log.warning("closing the NATS connection took over %.1f s; going on", CLOSE_BUDGET_S)
        render_metrics.unregister_pool(self.pool_metrics)
        self.metrics.close()
        with _timed(took, "browsers"):
            await asyncio.to_thread(self.pool.close, seconds_left(deadline))
        with _timed(took, "health"):
            await self.server.stop(seconds_left(deadline))
        log.info("stopped: %s", ", ".join(f"{step} {seconds:.1f} s" for step, seconds in took.items()))


@contextlib.contextmanager
def _timed(took: dict[str, float], step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        took[step] = time.monotonic() - started


async def ensure_bucket_when_reachable(images: ImageStore) -> None:
    """Ensure the image bucket, waiting as long as the S3 store is unreachable."""
    delay, attempts, started = S3_RETRY_FIRST_DELAY_S, 0, time.monotonic()
    while True:
        try:
            await asyncio.to_thread(images.ensure_bucket)
        except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, S3 errors: all wait
            attempts += 1
            log.warning("waiting for the S3 store (bucket %s): attempt %d failed after %.0fs: %s; "
                        "retrying in %.1fs", images.bucket, attempts, time.monotonic() - started,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(S3_RETRY_MAX_DELAY_S, delay * 2)
            continue
        if attempts:
            log.info("the S3 store answered after %.1fs; bucket %s ensured", time.monotonic() - started,
                     images.bucket)
        return


async def follow_renderer(health: object, pool: RendererPool) -> None:
    """Keep the health status equal to whether the pool can render."""
    serving: bool | None = None
    while True:
        can_render = pool.can_render()
        if can_render != serving:
            await (mark_serving if can_render else mark_not_serving)(health, SERVICE_NAMES)
            if serving is not None or not can_render:
                log.warning("health: %s", "SERVING (a browser serves again)" if can_render
                            else "NOT_SERVING (no browser serves and the latest start failed)")
            serving = can_render
        await asyncio.sleep(CAN_RENDER_POLL_S)


async def start_render_service(settings: RenderSettings) -> RenderService:
    # Health first, NOT_SERVING, so probes can tell "starting / waiting for a
    # dependency" from "gone".
    server = grpc.aio.server()
    health = add_health(server)
    port = bind(server, settings.health_addr)
    await server.start()
    await mark_not_serving(health, SERVICE_NAMES)
    images = image_store_for(settings.s3)
    await ensure_bucket_when_reachable(images)
    # Returns once each browser's first start succeeded or failed; failed ones
    # are retried in the background (health follows).
    options = BrowserOptions(max_renders=settings.max_renders_per_browser, render_timeout_s=settings.render_timeout,
                             start_timeout_s=settings.browser_start_timeout,
                             full_embed_every=settings.full_embed_every, chromium_path=settings.chromium_path, chromedriver_path=settings.chromedriver_path)
    pool = await asyncio.to_thread(RendererPool, settings.browsers, options)
    nc = await connect_nats(settings.nats, name="render_svc")
    js = nc.jetstream()
    await queue.ensure_streams(js, settings.nats.replicas)
    worker = RenderWorker(js, pool, images, settings.slots, settings.max_attempts,
                          observer=render_metrics.observe_job, total_budget=settings.total_budget)
    pool_metrics = render_metrics.register_pool(pool)
    metrics = serve_metrics(settings.metrics_addr)
    task = asyncio.create_task(worker.run(), name="render-worker")
    health_task = asyncio.create_task(follow_renderer(health, pool), name="render-health")
    log.info("render service ready: %s slots, %s of %s browsers serving, health on port %s, metrics on port %s",
             settings.slots, pool.ready_count, settings.browsers, port, metrics.port)
    return RenderService(server, port, nc, health, pool, worker, task, metrics, pool_metrics, health_task)
