"""Builds the render service from settings: warm browsers, the image bucket,
NATS, the worker, and a gRPC health endpoint for probes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
import nats
from nats.aio.client import Client as NATS

from chartsnap import queue
from chartsnap.grpc_server import add_health, bind, mark_not_serving, mark_serving
from chartsnap.image_store import image_store_for
from chartsnap.metrics import MetricsServer, serve_metrics
from render_svc import render_metrics
from render_svc.settings import RenderSettings
from render_svc.warm_renderer import RendererPool
from render_svc.worker import RenderWorker

log = logging.getLogger(__name__)
SERVICE_NAMES = ["chartsnap.v1.RenderWorker"]


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

    async def stop(self, grace: float = 5.0) -> None:
        await mark_not_serving(self.health, SERVICE_NAMES)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.worker.stop(grace)
        # Not drain(): every message is acked explicitly, and draining a pull
        # subscription waits out its whole drain timeout.
        await self.nc.close()
        render_metrics.unregister_pool(self.pool_metrics)
        self.metrics.close()
        await asyncio.to_thread(self.pool.close)
        await self.server.stop(grace)


async def start_render_service(settings: RenderSettings) -> RenderService:
    images = image_store_for(settings)
    await asyncio.to_thread(images.ensure_bucket)
    pool = await asyncio.to_thread(
        lambda: RendererPool(size=settings.browsers, max_renders=settings.max_renders_per_browser,
                             render_timeout_s=settings.render_timeout))
    nc = await nats.connect(settings.nats_url, name="render_svc", max_reconnect_attempts=-1, connect_timeout=5)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    worker = RenderWorker(js, pool, images, settings.slots, settings.max_attempts,
                          observer=render_metrics.observe_job)
    pool_metrics = render_metrics.register_pool(pool)
    metrics = serve_metrics(settings.metrics_addr)
    task = asyncio.create_task(worker.run(), name="render-worker")

    server = grpc.aio.server()
    health = add_health(server, SERVICE_NAMES)
    port = bind(server, settings.health_addr)
    await server.start()
    await mark_serving(health, SERVICE_NAMES)
    log.info("render service ready: %s slots, %s browsers, health on port %s, metrics on port %s",
             settings.slots, settings.browsers, port, metrics.port)
    return RenderService(server, port, nc, health, pool, worker, task, metrics, pool_metrics)
