"""Builds the notifier service from settings: NATS and the delivery journal,
the image store, the notifiers, the worker, a gRPC health endpoint for
probes and Prometheus /metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Mapping

import grpc
from nats.aio.client import Client as NATS

from chartsnap import logs, queue
from chartsnap.nats_connection import connect_nats
from chartsnap.grpc_server import add_health, bind, mark_not_serving, mark_serving
from chartsnap.image_store import image_store_for
from chartsnap.metrics import MetricsServer, serve_metrics
from chartsnap.settings import CLOSE_BUDGET_S
from notifier_svc.delivery_metrics import DeliveryMetrics
from notifier_svc.delivery_ledger import DeliveryLedger, open_bucket
from notifier_svc.delivery_runner import DeliveryRunner
from notifier_svc.notifier import Notifier
from notifier_svc.registry import standard_notifiers
from notifier_svc.settings import NotifierSettings
from notifier_svc.smtp_sender import SmtpSender
from notifier_svc.stored_images import StoredImages
from notifier_svc.vendor_http import VendorHttp
from notifier_svc.worker import NotifierWorker

log = logging.getLogger(__name__)
SERVICE_NAMES = ["chartsnap.v1.NotifierWorker"]
# Margin over one attempt's own bound before a SENDING entry counts as
# abandoned by a dead worker.
ATTEMPT_DEADLINE_MARGIN = 5.0


@dataclass
class NotifierService:
    server: grpc.aio.Server
    health_port: int
    nc: NATS
    health: object
    worker: NotifierWorker
    notifiers: Mapping[str, Notifier]
    http: VendorHttp
    task: asyncio.Task
    metrics: MetricsServer

    async def stop(self, grace: float = 10.0) -> None:
        await mark_not_serving(self.health, SERVICE_NAMES)
        # No new messages first, then let the running deliveries settle.
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.worker.stop(grace)
        # Closing gets CLOSE_BUDGET_S in all, each step what is left of it, so
        # a close that hangs cannot outlast the drain timeout.
        deadline = time.monotonic() + CLOSE_BUDGET_S

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        async def bounded(step: str, closing: Awaitable[object]) -> None:
            try:
                await asyncio.wait_for(closing, left())
            except Exception as exc:  # noqa: BLE001 - closing anyway; unacked messages are redelivered
                log.warning("%s on stop failed: %s", step, logs.failure(exc))

        for name, notifier in self.notifiers.items():
            await bounded(f"closing the {name} notifier", notifier.close())
        await bounded("closing the vendor HTTP client", self.http.close())
        # Every ack was sent by now; flush them out and close. (drain() would
        # also wait for the cancelled pull request, up to its 30 s timeout.)
        await bounded("flushing NATS", self.nc.flush(timeout=max(0.1, min(2.0, left()))))
        await bounded("closing NATS", self.nc.close())
        await self.server.stop(min(1.0, left()))
        self.metrics.close()


async def start_notifier_service(settings: NotifierSettings) -> NotifierService:
    images = StoredImages(image_store_for(settings.s3))
    nc = await connect_nats(settings.nats, name="notifier_svc")
    js = nc.jetstream()
    await queue.ensure_streams(js, settings.nats.replicas)
    ledger = DeliveryLedger(await open_bucket(js, replicas=settings.nats.replicas))

    http = VendorHttp(settings.timeouts, settings.outbound)
    smtp = SmtpSender(settings.smtp, settings.timeouts, threads=min(settings.concurrency, 32))
    notifiers = standard_notifiers(http, smtp)
    runner = DeliveryRunner(notifiers, ledger, settings.retry, images.load,
                            attempt_deadline=settings.timeouts.total + ATTEMPT_DEADLINE_MARGIN,
                            attempt_timeout=settings.timeouts.total,
                            global_secrets=(settings.smtp.password,),
                            global_pairs=((settings.smtp.user, settings.smtp.password),),
                            observer=DeliveryMetrics(notifiers))
    worker = NotifierWorker(js, runner, settings.concurrency)
    task = asyncio.create_task(worker.run(), name="notifier-worker")

    server = grpc.aio.server()
    health = add_health(server)
    port = bind(server, settings.health_addr)
    await server.start()
    metrics = serve_metrics(settings.metrics_addr)
    await mark_serving(health, SERVICE_NAMES)
    log.info("notifier service ready: %s deliveries at once, types %s, health on port %s, metrics on port %s",
             settings.concurrency, ", ".join(sorted(notifiers)), port, metrics.port)
    return NotifierService(server, port, nc, health, worker, notifiers, http, task, metrics)
