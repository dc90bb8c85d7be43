"""Builds the snapshot service from settings: stores, NATS, gRPC server. The
factory binds whatever address it is given (port 0 in tests) and reports the
port, so tests and `__main__` start it the same way."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import logging
import time
from dataclasses import dataclass, field

import grpc
from nats.aio.client import Client as NATS

from chartsnap import queue
from chartsnap.nats_connection import connect_nats
from chartsnap.grpc_server import MESSAGE_LIMITS, RequestIdInterceptor, add_health, bind, mark_not_serving, mark_serving
from chartsnap.metrics import MetricsServer, serve_metrics
from chartsnap.settings import CLOSE_BUDGET_S
from chartsnap.v1 import (
    accounts_pb2_grpc,
    annotations_pb2_grpc,
    destinations_pb2_grpc,
    measurements_pb2_grpc,
    snapshots_pb2_grpc,
    spaces_pb2_grpc,
)
from snapshot_svc.accounts import AccountStore
from snapshot_svc.annotation_api import AnnotationServicer
from snapshot_svc.annotations import AnnotationStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc import schema
from snapshot_svc.database import make_engine
from snapshot_svc.delivery_queue import DeliveryQueue, DeliveryResultConsumer
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.grpc_api import (
    AccountServicer,
    Authenticator,
    DestinationServicer,
    SnapshotServicer,
    SpaceServicer,
)
from snapshot_svc.measurement_api import MeasurementServicer
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.job_sweeper import JobSweeper
from snapshot_svc.jobs import Deliveries, Jobs
from snapshot_svc.render_queue import RenderQueue, ResultConsumer
from snapshot_svc.settings import SnapshotSettings
from snapshot_svc.snapshot_metrics import RpcMetricsInterceptor, observe_job_completed
from snapshot_svc.snapshots import SnapshotStore

log = logging.getLogger(__name__)

# Clients balance round-robin over the addresses they resolved (a headless
# Service's pods), and re-resolve only when a connection ends: closing each
# connection after a while (calls in flight get the grace) lets gateways find
# replicas added since.
CONNECTION_AGE = [("grpc.max_connection_age_ms", 300_000), ("grpc.max_connection_age_grace_ms", 30_000)]

SERVICE_NAMES = ["chartsnap.v1.SpaceService", "chartsnap.v1.MeasurementService", "chartsnap.v1.SnapshotService",
                 "chartsnap.v1.DestinationService", "chartsnap.v1.AccountService",
                 "chartsnap.v1.AnnotationService"]


@dataclass
class SnapshotService:
    settings: SnapshotSettings
    server: grpc.aio.Server
    port: int
    nc: NATS
    health: object
    tasks: list[asyncio.Task] = field(default_factory=list)
    metrics: MetricsServer | None = None

    async def stop(self, grace: float = 5.0) -> None:
        """Calls in flight get `grace` seconds; the background tasks' end and
        closing NATS then get CLOSE_BUDGET_S together, each what is left of
        it (an unbounded close once outlasted the drain timeout in CI, and the
        watchdog cut the stop short); the steps' times are logged, so a slow
        stop says where."""
        took: dict[str, float] = {}
        await mark_not_serving(self.health, SERVICE_NAMES)
        started = time.monotonic()
        await self.server.stop(grace)
        took["calls"] = time.monotonic() - started
        deadline = time.monotonic() + CLOSE_BUDGET_S
        for task in self.tasks:
            task.cancel()
        started = time.monotonic()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=max(0.0, deadline - time.monotonic()))
            if pending:
                log.warning("background tasks still running at the stop: %s; going on",
                            ", ".join(sorted(t.get_name() for t in pending)))
        took["tasks"] = time.monotonic() - started
        started = time.monotonic()
        try:
            # Not drain(): results are acked explicitly, and draining a pull
            # subscription waits out its whole drain timeout.
            await asyncio.wait_for(self.nc.close(), max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            log.warning("closing the NATS connection took over %.1f s; going on", CLOSE_BUDGET_S)
        took["NATS"] = time.monotonic() - started
        if self.metrics is not None:
            self.metrics.close()
        log.info("stopped: %s", ", ".join(f"{step} {seconds:.1f} s" for step, seconds in took.items()))


async def start_snapshot_service(settings: SnapshotSettings) -> SnapshotService:
    engine = make_engine(settings.database_url, settings.pool)
    try:
        schema.require_current(engine)  # SchemaNotCurrent names `chartsnap db upgrade`
    except schema.SchemaNotCurrent:
        engine.dispose()
        raise
    # Every RPC's database work runs in a thread; asyncio's default pool has
    # cpu+4 threads, too few for slow writes not to stall every other caller.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=settings.db_threads, thread_name_prefix="db"))
    accounts, spaces = AccountStore(engine), SpaceStore(engine)
    measurements, snapshots = MeasurementStore(engine, settings.retention), SnapshotStore(engine)
    destinations, annotations = DestinationStore(engine), AnnotationStore(engine)

    nc = await connect_nats(settings.nats, name="snapshot_svc")
    js = nc.jetstream()
    await queue.ensure_streams(js, settings.nats.replicas)

    def image_url_for(key: str) -> str:
        return f"{settings.image_base_url}/{key}"

    deliveries = Deliveries(snapshots, destinations, accounts, spaces, DeliveryQueue(js), settings.public_url,
                            image_url_for, observe_job_completed)
    jobs = Jobs(snapshots, spaces, measurements, RenderQueue(js), destinations, deliveries, observe_job_completed,
                annotations)
    sweeper = JobSweeper(js, snapshots, jobs, settings.bounds)
    await sweeper.watch_crash_loops()

    server = grpc.aio.server(interceptors=[RequestIdInterceptor(), RpcMetricsInterceptor()],
                             options=MESSAGE_LIMITS + CONNECTION_AGE)
    auth = Authenticator(accounts)
    spaces_pb2_grpc.add_SpaceServiceServicer_to_server(SpaceServicer(auth, spaces), server)
    measurements_pb2_grpc.add_MeasurementServiceServicer_to_server(MeasurementServicer(auth, measurements), server)
    snapshots_pb2_grpc.add_SnapshotServiceServicer_to_server(
        SnapshotServicer(auth, snapshots, jobs, image_url_for), server
    )
    destinations_pb2_grpc.add_DestinationServiceServicer_to_server(DestinationServicer(auth, destinations), server)
    accounts_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(auth), server)
    annotations_pb2_grpc.add_AnnotationServiceServicer_to_server(
        AnnotationServicer(auth, annotations), server)
    health = add_health(server)
    port = bind(server, settings.listen_addr)
    await server.start()
    tasks = [
        asyncio.create_task(ResultConsumer(js, jobs).run(), name="render-results"),
        asyncio.create_task(DeliveryResultConsumer(js, deliveries).run(), name="delivery-results"),
        asyncio.create_task(sweeper.sweep_forever(), name="job-sweeper"),
    ]
    metrics = serve_metrics(settings.metrics_addr)
    await mark_serving(health, SERVICE_NAMES)
    log.info("snapshot service listening on port %s", port)
    return SnapshotService(settings, server, port, nc, health, tasks, metrics)
