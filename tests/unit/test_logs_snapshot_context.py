"""The log context of a snapshot's work in snapshot_svc.jobs, against a real
SQLite database: the request id of the call that took it is stored, and is
the one its render and delivery requests carry (the publishers see it bound,
as chartsnap.queue.publish puts it in a NATS header) — also when they are
published later, outside any request (the sweeper; a result without one)."""

from __future__ import annotations

import asyncio
import time

import pytest

from chartsnap import request_ids
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.jobs import Deliveries, Jobs
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate

pytestmark = pytest.mark.timeout(20)
PUBLISH_BOUND_S = 5.0  # a background publish of a one-stream chart on SQLite


class ContextRecorder:
    """A publisher that records the log context each request was published in."""

    def __init__(self) -> None:
        self.seen: list[dict] = []

    async def publish(self, request, publish: int = 1) -> int:  # noqa: ANN001
        self.seen.append(dict(request_ids.current()))
        return len(self.seen)


@pytest.fixture
def world(db_engine, acct):  # noqa: ANN001, ANN201
    spaces = SpaceStore(db_engine)
    chart = spaces.create_chart(acct, spaces.create_space(acct, "s")["id"], {"name": "c", "streams": [{"metric": "m"}]})
    return AccountStore(db_engine).get(acct), chart, spaces, SnapshotStore(db_engine), DestinationStore(db_engine)


async def _until(what: str, check) -> None:  # noqa: ANN001
    deadline = time.monotonic() + PUBLISH_BOUND_S
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def test_the_request_id_of_the_call_is_stored_and_carried_whoever_publishes(world) -> None:  # noqa: ANN001
    account, chart, spaces, snapshots, destinations = world
    service = destinations.create(account.id, "ops", "mail", {"addresses": "ops@example.com"})
    renders, sent = ContextRecorder(), ContextRecorder()
    deliveries = Deliveries(snapshots, destinations, AccountStore(snapshots.engine), spaces, sent,
                            "https://charts.example", lambda key: f"https://img.example/{key}")
    jobs = Jobs(snapshots, spaces, MeasurementStore(snapshots.engine), renders, destinations, deliveries)
    now = time.time()
    valid = validate(SnapshotInput(chart["id"], "line", services=(service["id"],)), now)

    async def the_call() -> dict:   # as the gRPC interceptor runs it: one task, its id bound
        with request_ids.bound(request_id="call-1"):
            snap, new = await jobs.take_snapshot(account, valid, now, None)
            assert new and request_ids.current()["snapshot_id"] == snap["id"]
            return snap

    snap = await asyncio.create_task(the_call())
    expected = {"request_id": "call-1", "snapshot_id": snap["id"], "job_id": snap["job_id"]}
    assert snapshots.get(account.id, snap["id"])["request_id"] == "call-1"
    await _until("the render request published", lambda: renders.seen)
    assert renders.seen == [expected]

    # The sweeper publishes again, outside any request: the stored id is bound.
    assert request_ids.current() == {}
    assert await jobs.publish_render(account.id, snap["id"], publish=2)
    assert renders.seen[1] == expected
    assert request_ids.current() == {}

    # A render result that carried no id: the deliveries carry the stored one.
    await jobs.render_succeeded(snap["id"], snap["assigned_image_key"])
    assert sent.seen == [{**expected, "delivery_id": f"{snap['id']}:{service['id']}"}]
    assert request_ids.current() == {}
