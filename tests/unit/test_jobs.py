"""The snapshot service's application layer (snapshot_svc.jobs) against a real
SQLite database, with the queue replaced by recording publishers."""

from __future__ import annotations

import asyncio
import time

import pytest

from chartsnap import errors
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.jobs import CHART_DELETED, SERVICE_DELETED, TOO_LARGE, Deliveries, Jobs, RequestTooLarge
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, Transition, validate


class Publisher:
    """Records what it is given; `fail` is raised instead, when set."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.sent: list = []

    async def publish(self, request, publish: int = 1) -> int:  # noqa: ANN001
        if self.fail is not None:
            raise self.fail
        self.sent.append((request, publish))
        return len(self.sent)


@pytest.fixture
def world(db_engine, acct):  # noqa: ANN001, ANN201
    spaces = SpaceStore(db_engine)
    chart = spaces.create_chart(acct, spaces.create_space(acct, "s")["id"], {"name": "c", "streams": [{"metric": "m"}]})
    account = AccountStore(db_engine).get(acct)
    return account, chart, spaces, SnapshotStore(db_engine), DestinationStore(db_engine), MeasurementStore(db_engine)


def _jobs(world, renders: Publisher, deliveries: Deliveries | None = None, observed: list | None = None) -> Jobs:  # noqa: ANN001
    _, _, spaces, snapshots, destinations, measurements = world
    return Jobs(snapshots, spaces, measurements, renders, destinations, deliveries,
                (observed.append if observed is not None else lambda _: None))


async def test_a_new_snapshot_is_published_and_its_sequence_recorded(world) -> None:  # noqa: ANN001
    account, chart, _, snapshots, _, _ = world
    renders = Publisher()
    jobs = _jobs(world, renders)
    now = time.time()
    snap, new = await jobs.take_snapshot(account, validate(SnapshotInput(chart["id"], "line"), now), now, None)
    assert new  # published in the background: the caller has its answer first
    deadline = time.monotonic() + 5
    while not renders.sent or snapshots.unpublished(time.time() + 1):
        assert time.monotonic() < deadline, "not published"
        await asyncio.sleep(0.01)
    [(request, publish)] = renders.sent
    assert (request.snapshot_id, publish) == (snap["id"], 1)


async def test_another_accounts_chart_or_service_is_refused_as_unknown(world, other_acct) -> None:  # noqa: ANN001
    account, chart, *_ = world
    jobs = _jobs(world, Publisher())
    now = time.time()
    with pytest.raises(errors.InvalidParams) as missing:
        await jobs.take_snapshot(account, validate(SnapshotInput(chart["id"] + 99, "line"), now), now, None)
    assert missing.value.fields == {"subject": [f"chart {chart['id'] + 99} does not exist"]}
    intruder = AccountStore(world[3].engine).get(other_acct)
    with pytest.raises(errors.InvalidParams):
        await jobs.take_snapshot(intruder, validate(SnapshotInput(chart["id"], "line"), now), now, None)
    with pytest.raises(errors.InvalidParams) as unknown:
        await jobs.take_snapshot(account, validate(SnapshotInput(chart["id"], "line", services=("7",)), now), now,
                                 None)
    assert unknown.value.fields == {"services": ["unknown service ids: 7"]}


async def test_a_request_too_large_for_the_queue_fails_the_job(world) -> None:  # noqa: ANN001
    account, chart, _, snapshots, _, _ = world
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    assert not await _jobs(world, Publisher(RequestTooLarge("9 MB"))).publish_render(account.id, snap["id"])
    job = snapshots.get_job(account.id, snap["job_id"])
    assert (job.state, job.errors) == ("failed", [TOO_LARGE])


async def test_a_queue_fault_leaves_the_job_queued_for_the_sweeper(world) -> None:  # noqa: ANN001
    account, chart, _, snapshots, _, _ = world
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    assert not await _jobs(world, Publisher(ConnectionError("no NATS"))).publish_render(account.id, snap["id"])
    assert snapshots.get_job(account.id, snap["job_id"]).state == "queued"
    assert snapshots.unpublished(time.time() + 1) == [(account.id, snap["id"])]


async def test_a_chart_deleted_before_drawing_fails_the_job(world) -> None:  # noqa: ANN001
    account, chart, spaces, snapshots, _, _ = world
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    spaces.delete_chart(account.id, chart["space_id"], chart["id"])
    renders = Publisher()
    assert not await _jobs(world, renders).publish_render(account.id, snap["id"])
    assert renders.sent == []
    job = snapshots.get_job(account.id, snap["job_id"])
    assert (job.state, job.errors) == ("failed", [CHART_DELETED])


async def test_render_success_queues_deliveries_and_a_deleted_service_fails_its_own(world) -> None:  # noqa: ANN001
    account, chart, spaces, snapshots, destinations, _ = world
    kept = destinations.create(account.id, "ops", "mail", {"addresses": "ops@example.com"})
    gone = destinations.create(account.id, "old", "mail", {"addresses": "old@example.com"})
    observed: list[Transition] = []
    sent = Publisher()
    deliveries = Deliveries(snapshots, destinations, AccountStore(snapshots.engine), spaces, sent,
                            "https://charts.example", lambda key: f"https://img.example/{key}", observed.append)
    jobs = _jobs(world, Publisher(), deliveries, observed)
    now = time.time()
    valid = validate(SnapshotInput(chart["id"], "line", services=(kept["id"], gone["id"])), now)
    snap, _ = await jobs.take_snapshot(account, valid, now, None)
    destinations.delete(account.id, gone["id"])

    await jobs.render_succeeded(snap["id"], snap["assigned_image_key"])
    [(request, _)] = sent.sent
    assert (request.service_id, request.image_key) == (kept["id"], snap["assigned_image_key"])
    job = snapshots.get_job(account.id, snap["job_id"])
    assert job.state == "working"
    assert [(d["service_id"], d["state"], d["error"]) for d in job.deliveries] == [
        (kept["id"], "pending", ""), (gone["id"], "failed", SERVICE_DELETED)]

    await deliveries.apply_result(snap["id"], kept["id"], "delivered", 1, "")
    await deliveries.apply_result(snap["id"], kept["id"], "delivered", 1, "")  # redelivered: changes nothing
    assert snapshots.get_job(account.id, snap["job_id"]).state == "complete"
    assert sum(1 for t in observed if t.completed_in is not None) == 1
