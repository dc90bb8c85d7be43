"""A bench stack for `make bench-scale`: on PostgreSQL, with its own count of
render_svc and of snapshot_svc replicas, and NATS's monitoring port open so
the burst's messages can be counted.

Built from the Stack's own parts, in the order Stack.start_* uses them: the
Stack runs `replicas` of every replicated service, so it is made with the
snapshot replicas' count (the gateway then names every snapshot replica),
and the render replicas are started here with the Stack's names, addresses
and specs (an extra replica's addresses are chosen by Stack.replica_addresses
on first use). The notifier is not started: the burst's snapshots name no
services, as in `make bench`."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from devstack import nats_cluster
from devstack.postgres import ThrowawayPostgres
from devstack.processes import Stack, free_port, grpc_serving, nats_spec, s3_spec, service_spec
from devstack.replicas import replica_names

from bench.bench_stack import BenchStack, add_account, seed_reference_chart
from bench.scale_counters import NatsCounter, PostgresCounter

log = logging.getLogger(__name__)

RENDER_READY_TIMEOUT = 120.0  # seconds, as Stack.start_render_svc: Chromium starts slowly on a loaded machine


def postmaster_pid(pg: ThrowawayPostgres) -> int:
    """The server's root process (its backends are its children)."""
    return int((pg.data / "postmaster.pid").read_text().split("\n", 1)[0])


def start_nats_with_monitoring(stack: Stack) -> int:
    """The stack's single NATS node, its configuration plus an HTTP
    monitoring listener on a free port (returned) for /varz and /jsz."""
    node = stack.nats_cluster_nodes[0]
    spec = nats_spec(node.client_port, stack.data_dir, stack.log_dir, stack.nats_passwords)
    monitor_port = free_port()
    with open(nats_cluster.config_path(stack.data_dir, node), "a", encoding="utf-8") as config:
        config.write(f'http: "127.0.0.1:{monitor_port}"\n')
    stack.start(spec)
    return monitor_port


def start_render_replicas(stack: Stack, count: int) -> None:
    specs = []
    for name in replica_names("render_svc", count):
        address = stack.health_addr(name)
        specs.append(service_spec("render_svc", stack.service_env(name), stack.log_dir,
                                  lambda address=address: grpc_serving(address), RENDER_READY_TIMEOUT,
                                  tmp_dir=stack.tmp_dir(name), name=name))
    stack.start_together(specs)


def start_scale_stack(pg: ThrowawayPostgres, database: str, render_replicas: int, snapshot_replicas: int,
                      extra_env: dict[str, str] | None = None) -> BenchStack:
    """A fresh stack on a fresh database `database` of `pg`; its burst counts
    PostgreSQL's whole process tree as one CPU group and the engines' work."""
    url = pg.create_database(database)
    data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-scale-"))
    env = {"CHARTSNAP_RATE_LIMIT": "0", "CHARTSNAP_DATABASE_URL": url, **(extra_env or {})}
    stack = Stack.on_free_ports(data_dir, extra_env=env, replicas=snapshot_replicas)
    started = time.monotonic()
    try:
        monitor_port = start_nats_with_monitoring(stack)
        stack.start(s3_spec(stack.ports.s3, stack.data_dir, stack.log_dir, stack.creds))
        stack.start_snapshot_svc()
        start_render_replicas(stack, render_replicas)
        stack.start_gateway()
        log.info("stack with %d render, %d snapshot replicas up in %.1fs (%s)", render_replicas,
                 snapshot_replicas, time.monotonic() - started, data_dir)
        account = add_account(stack)
        chart_id = seed_reference_chart(stack.gateway_url, account)
        counters = [PostgresCounter(pg.url_of("postgres").replace("postgresql+psycopg", "postgresql"), database),
                    NatsCounter(monitor_port)]
    except BaseException:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return BenchStack(stack, data_dir, account, chart_id, cpu_trees={"postgresql": postmaster_pid(pg)},
                      phase_counters=counters)
