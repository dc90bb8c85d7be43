"""A fault test's own look at a stack's JetStream, as the NATS admin user, from
a thread of its own (the test itself is synchronous): every render result
published (which snapshot, which state, which delivery of its request), and
the cluster state of every stream and of the delivery ledger's bucket.

It only watches: core-NATS subscribers of a JetStream subject get a copy of
each message published to it and take nothing from the streams' consumers."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Coroutine

import nats

from chartsnap import queue
from chartsnap.v1 import render_pb2
from devstack.processes import Stack

LEDGER_STREAM = f"KV_{queue.DELIVERY_LEDGER_BUCKET}"   # the stream under a JetStream KV bucket
WATCHED_STREAMS = (*(config.name for config in queue.STREAMS), LEDGER_STREAM)
API_TIMEOUT = 5.0     # seconds for one JetStream API request (nats-py's default)
CALL_TIMEOUT = len(WATCHED_STREAMS) * API_TIMEOUT + 5.0   # seconds for one call of the watch
ENDED = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class RenderEvent:
    at: float          # time.monotonic() when the watcher saw it
    snapshot_id: int
    state: str         # STARTED, SUCCEEDED, FAILED
    attempt: int       # the request's delivery number (JetStream num_delivered)


@dataclass(frozen=True)
class StreamCluster:
    name: str
    leader: str | None
    replicas: int                  # configured copies
    followers: dict[str, bool]     # follower name -> current


class JetStreamWatch:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.events: list[RenderEvent] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jetstream-watch", daemon=True)
        self._nc: Any = None

    def __enter__(self) -> "JetStreamWatch":
        self._thread.start()
        self._nc = self._call(self._connect())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call(self._nc.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT)

    def _call(self, coro: Coroutine) -> Any:  # noqa: ANN401
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT)

    async def _connect(self) -> Any:  # noqa: ANN401
        nc = await nats.connect(servers=self.stack.nats_servers, max_reconnect_attempts=-1,
                                reconnect_time_wait=0.2, name="fault-test-watch", **self.stack.nats_admin_options)
        await nc.subscribe(queue.RENDER_RESULTS, cb=self._on_render_result)
        return nc

    async def _on_render_result(self, msg: Any) -> None:  # noqa: ANN401
        result = render_pb2.RenderResult.FromString(msg.data)
        event = RenderEvent(time.monotonic(), result.snapshot_id,
                            render_pb2.RenderResult.State.Name(result.state), result.attempt)
        with self._lock:
            self.events.append(event)

    # -- render results ----------------------------------------------------

    def render_events(self) -> list[RenderEvent]:
        with self._lock:
            return list(self.events)

    def rendering_now(self) -> set[int]:
        """Snapshots whose latest render delivery said STARTED and nothing since:
        a render service holds their request (serialising, drawing, uploading)."""
        latest: dict[int, str] = {}
        for event in self.render_events():
            latest[event.snapshot_id] = event.state
        return {snapshot_id for snapshot_id, state in latest.items() if state == "STARTED"}

    def snapshots_seen(self) -> set[int]:
        """Snapshots a render service has taken (reported at least STARTED)."""
        return {event.snapshot_id for event in self.render_events()}

    def redelivered_since(self, after: float) -> set[int]:
        """Snapshots whose request a render service took again (attempt > 1) after `after`."""
        return {e.snapshot_id for e in self.render_events() if e.state == "STARTED" and e.attempt > 1 and e.at > after}

    def redeliveries_of(self, snapshot_id: int, after: float) -> list[RenderEvent]:
        """STARTED of a later delivery (attempt > 1) of the snapshot's request, seen after `after`."""
        return [e for e in self.render_events()
                if e.snapshot_id == snapshot_id and e.state == "STARTED" and e.attempt > 1 and e.at > after]

    def ended_after(self, snapshot_id: int, after: float) -> list[RenderEvent]:
        """SUCCEEDED or FAILED of the snapshot's request, seen after `after`."""
        return [e for e in self.render_events()
                if e.snapshot_id == snapshot_id and e.state in ENDED and e.at > after]

    # -- cluster state -----------------------------------------------------

    def clusters(self, api_timeout: float = API_TIMEOUT) -> dict[str, StreamCluster]:
        """Each stream's leader and followers; TimeoutError while one has no leader."""
        return self._call(self._clusters(api_timeout))

    async def _clusters(self, api_timeout: float) -> dict[str, StreamCluster]:
        js = self._nc.jetstream(timeout=api_timeout)
        found: dict[str, StreamCluster] = {}
        for name in WATCHED_STREAMS:
            info = await js.stream_info(name)
            cluster = info.cluster
            found[name] = StreamCluster(
                name, cluster.leader if cluster else None, info.config.num_replicas or 1,
                {peer.name: bool(peer.current) for peer in (cluster.replicas or [])} if cluster else {})
        return found
