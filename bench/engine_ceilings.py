"""The most the two single writers take on this machine, for the scale
projection (bench.scale_projection.SingleWriter).

PostgreSQL: pgbench (Debian's postgresql package) against a cluster of its
own with fsync on (a primary that keeps its commits), write transactions in
the shapes the snapshot service commits: an INSERT of a job-like row (JSON
column, unique key) and an UPDATE of one by primary key, in autocommit.
Once with synchronous_commit on (durable: the figure the projection uses),
once off (what a primary does that may lose the last commits on a crash).

NATS: one node as the bench runs it, a work-queue stream of the same
configuration as the stack's (chartsnap.queue.work_queue), driven by nats-py
from this process: publishes awaiting their PubAck, then pull consumers
fetching and acking them; a stream message costs its leader one of each.
The client is Python on the same two cores, so the rate it reaches is a
lower bound of what the server takes. The ceiling used is the server's: a
stream's leader appends its messages one at a time, so it is taken to have
one core, and 1 s ÷ (the server's CPU per publish + per consume and ack,
measured over the loop) is what that core takes; conservative, since
parsing and acks run on other goroutines."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg

from bench.cpu_accounting import read_cpu
from chartsnap.queue import work_queue
from devstack.postgres import ThrowawayPostgres, pg_bin
from devstack.processes import Stack

log = logging.getLogger(__name__)

PGBENCH_CLIENTS = 16
CEILING_TABLE = """CREATE TABLE ceiling_jobs (
    id bigserial PRIMARY KEY, snapshot_id bigint NOT NULL UNIQUE, state varchar(16) NOT NULL,
    progress double precision NOT NULL, errors json NOT NULL, published_at double precision,
    created_at double precision NOT NULL, updated_at double precision NOT NULL)"""
CEILING_ROWS = 100_000  # rows the UPDATEs pick from
INSERT_SCRIPT = """\\set sid random(1, 9000000000000000000)
INSERT INTO ceiling_jobs (snapshot_id, state, progress, errors, created_at, updated_at)
    VALUES (:sid, 'queued', 0, '[]', extract(epoch from now()), extract(epoch from now()));
"""
UPDATE_SCRIPT = f"""\\set id random(1, {CEILING_ROWS})
UPDATE ceiling_jobs SET state = 'complete', progress = 1, updated_at = extract(epoch from now()) WHERE id = :id;
"""


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _pgbench_tps(pg: ThrowawayPostgres, scripts: list[Path], seconds: int, synchronous_commit: str) -> float:
    cmd = [pg_bin("pgbench"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-n",
           "-c", str(PGBENCH_CLIENTS), "-j", "2", "-T", str(seconds)]
    for script in scripts:
        cmd += ["-f", str(script)]
    done = subprocess.run([*cmd, "ceiling"], capture_output=True, text=True, timeout=seconds + 60,
                          env={"PGOPTIONS": f"-c synchronous_commit={synchronous_commit}", "PATH": "/usr/bin:/bin"})
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {(done.stderr or done.stdout)[-1500:]}")
    return float(found.group(1))


def postgres_write_ceiling(seconds: int) -> dict:
    """Write transactions a second, durable and not, at PGBENCH_CLIENTS clients."""
    scripts_dir = Path(tempfile.mkdtemp(prefix="chartsnap-ceiling-"))
    with ThrowawayPostgres.start(settings={"fsync": "on"}) as pg:
        url = pg.create_database("ceiling")
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(CEILING_TABLE)
            conn.execute("INSERT INTO ceiling_jobs (snapshot_id, state, progress, errors, created_at, updated_at)"
                         " SELECT n, 'queued', 0, '[]', 0, 0 FROM generate_series(1, %s) AS n", (CEILING_ROWS,))
            conn.execute("VACUUM ANALYZE ceiling_jobs")
        insert, update = scripts_dir / "insert.sql", scripts_dir / "update.sql"
        insert.write_text(INSERT_SCRIPT)
        update.write_text(UPDATE_SCRIPT)
        try:
            durable = _pgbench_tps(pg, [insert, update], seconds, "on")
            not_durable = _pgbench_tps(pg, [insert, update], seconds, "off")
        finally:
            shutil.rmtree(scripts_dir, ignore_errors=True)
    log.info("PostgreSQL write transactions/s: %.0f durable, %.0f with synchronous_commit off", durable, not_durable)
    return {"write_transactions_per_s": round(durable), "write_transactions_per_s_synchronous_commit_off":
            round(not_durable), "clients": PGBENCH_CLIENTS, "seconds": seconds, "fsync": "on",
            "statements": ["INSERT job-like row", "UPDATE job-like row by id"]}


NATS_PUBLISHERS = 64          # publishes in flight, each awaiting its PubAck
NATS_CONSUMERS = 4            # pull subscriptions of the one durable consumer, fetching at once
NATS_FETCH_BATCH = 256
NATS_PAYLOAD = b"x" * 1024    # a render result's size; a render request with its data is larger


@dataclass(frozen=True)
class NatsPhase:
    messages: int
    seconds: float
    server_cpu_s: float

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def server_cpu_per_message_s(self) -> float:
        return self.server_cpu_s / self.messages


def _server_cpu(pid: int) -> float:
    return read_cpu({"nats": pid}, with_children="").seconds.get("nats", 0.0)


async def _nats_phases(stack: Stack, seconds: float) -> tuple[NatsPhase, NatsPhase]:
    import nats

    server = stack.processes["nats"].popen.pid
    nc = await nats.connect(stack.nats_servers, **stack.nats_admin_options)
    try:
        js = nc.jetstream()
        await js.add_stream(replace(work_queue("CEILING", ["ceiling.work"]), num_replicas=1))
        published = 0
        deadline = time.perf_counter() + seconds

        async def publisher() -> None:
            nonlocal published
            while time.perf_counter() < deadline:
                await js.publish("ceiling.work", NATS_PAYLOAD)
                published += 1

        cpu, started = _server_cpu(server), time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(NATS_PUBLISHERS)))
        publish = NatsPhase(published, time.perf_counter() - started, _server_cpu(server) - cpu)

        subs = [await js.pull_subscribe("ceiling.work", durable="ceiling") for _ in range(NATS_CONSUMERS)]
        consumed = 0
        deadline = time.perf_counter() + seconds

        async def consumer(sub) -> None:  # noqa: ANN001
            nonlocal consumed
            while consumed < published and time.perf_counter() < deadline:
                try:
                    batch = await sub.fetch(NATS_FETCH_BATCH, timeout=1)
                except nats.errors.TimeoutError:
                    continue
                for msg in batch:
                    await msg.ack()
                consumed += len(batch)

        cpu, started = _server_cpu(server), time.perf_counter()
        await asyncio.gather(*(consumer(sub) for sub in subs))
        await nc.flush()
        consume = NatsPhase(consumed, time.perf_counter() - started, _server_cpu(server) - cpu)
        return publish, consume
    finally:
        await nc.close()


def nats_stream_ceiling(seconds: float) -> dict:
    """Stream messages a second one stream leader takes (publish + consume + ack each)."""
    data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-ceiling-nats-"))
    stack = Stack.on_free_ports(data_dir)
    try:
        stack.start_nats()
        publish, consume = asyncio.run(_nats_phases(stack, seconds))
    finally:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    # Both halves go through the one leader: a message costs it a publish and a consume.
    client_bound = 1 / (1 / publish.per_s + 1 / consume.per_s)
    server_cpu_per_message = publish.server_cpu_per_message_s + consume.server_cpu_per_message_s
    one_core = 1 / server_cpu_per_message
    log.info("NATS stream: %.0f publishes/s, %.0f consumes/s (client bound: %.0f messages/s); server CPU "
             "%.0f µs a message -> %.0f messages/s on one core", publish.per_s, consume.per_s, client_bound,
             1e6 * server_cpu_per_message, one_core)
    return {"stream_messages_per_s": round(one_core), "client_bound_messages_per_s": round(client_bound),
            "publishes_per_s": round(publish.per_s), "consumed_acked_per_s": round(consume.per_s),
            "server_cpu_us_per_message": round(1e6 * server_cpu_per_message, 1),
            "published": publish.messages, "consumed": consume.messages, "payload_bytes": len(NATS_PAYLOAD),
            "publishers": NATS_PUBLISHERS, "consumers": NATS_CONSUMERS, "seconds": seconds, "replicas": 1,
            "client": "nats-py, one process"}
