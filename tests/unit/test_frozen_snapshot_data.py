"""The data behind a snapshot's picture, frozen when it is taken (snapshot_svc.jobs,
snapshot_svc.frozen_data, SnapshotStore.freeze/data) against a real SQLite
database, the queue replaced by recording publishers: every copy of the
render request is made from the stored data, with the options, annotations
and summary; the PNG's digest is kept; deliveries carry the summary."""

from __future__ import annotations

import time

import pytest

from chartsnap import errors
from chartsnap.v1 import render_pb2
from snapshot_svc import frozen_data
from snapshot_svc.accounts import AccountStore
from snapshot_svc.annotations import AnnotationStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.jobs import Deliveries, Jobs
from snapshot_svc.measurements import MeasurementStore, Sample
from snapshot_svc.snapshots import FrozenData, SnapshotInput, SnapshotStore, validate

END = 1_764_689_400  # 2025-12-02 15:30:00 UTC
START = END - 3600


class Publisher:
    def __init__(self) -> None:
        self.sent: list = []

    async def publish(self, request, publish: int = 1) -> int:  # noqa: ANN001
        self.sent.append((request, publish))
        return len(self.sent)


def _sample(t: int, v: float, host: str = "web-1", metric: str = "queue.depth") -> Sample:
    return Sample(metric, {"host": host}, t, v, 1, v, v, v, v)


@pytest.fixture
def world(db_engine, acct):  # noqa: ANN001, ANN201
    spaces = SpaceStore(db_engine)
    space = spaces.create_space(acct, "s")
    chart = spaces.create_chart(acct, space["id"], {"name": "Queues", "streams": [
        {"metric": "queue.depth", "group_function": "breakout", "units_short": "jobs"}]})
    measurements = MeasurementStore(db_engine)
    measurements.submit(acct, [_sample(START + 60, 1200.0), _sample(START + 1920, 4210.0), _sample(END - 60, 380.0),
                               _sample(START + 60, 7.0, "web-2")])
    annotations = AnnotationStore(db_engine)
    account = AccountStore(db_engine).get(acct)
    renders = Publisher()
    jobs = Jobs(SnapshotStore(db_engine), spaces, measurements, renders, DestinationStore(db_engine),
                annotations=annotations)
    return account, chart, jobs, renders, annotations


def _without_enqueued_at(request: render_pb2.RenderRequest) -> bytes:
    copy = render_pb2.RenderRequest()
    copy.CopyFrom(request)
    copy.ClearField("enqueued_at")
    return copy.SerializeToString(deterministic=True)


async def _take(world, **options) -> dict:  # noqa: ANN001, ANN003
    account, chart, jobs, renders, _ = world
    valid = validate(SnapshotInput(chart["id"], options.pop("chart_type", "line"), duration=3600, end_time=END,
                                   **options), END + 5)
    snap = jobs.snapshots.create(account.id, valid, time.time(), {sid: "mail" for sid in valid.services})
    assert await jobs.publish_render(account.id, snap["id"], snap, chart)
    return snap


async def test_the_request_is_made_from_the_frozen_data_with_the_options_and_summary(world) -> None:  # noqa: ANN001
    account, _, jobs, renders, _ = world
    snap = await _take(world, timezone="America/New_York", scale=2.0, theme="dark")
    [(request, _)] = renders.sent
    frozen = jobs.snapshots.frozen(snap["id"])
    assert _without_enqueued_at(frozen_data.request_from(frozen.body)) == _without_enqueued_at(request)
    assert (request.timezone, request.scale, request.theme) == ("America/New_York", 2.0, "dark")
    by_host = {s.tags["host"]: s for s in request.series}
    assert set(by_host) == {"web-1", "web-2"} and by_host["web-1"].metric == "queue.depth"
    assert max(by_host["web-1"].values) == 4210.0
    # The frozen body holds exactly the drawn series, under its window and resolution.
    body = frozen.body
    assert body["window"] == {"start": START, "end": END} and frozen.resolution == 12
    assert [(s["label"], s["metric"], s["tags"], s["times"], s["values"]) for s in body["series"]] == [
        (s.label, s.metric, dict(s.tags), list(s.times), list(s.values)) for s in request.series]
    # The summary: in the snapshot's zone, with the units, stored, and in the request (the PNG's tEXt).
    summary = "web-1 peaked at 4,210 jobs at 10:02 EST, ended at 380 jobs; 2 streams"
    assert request.summary == summary and jobs.snapshots.get(account.id, snap["id"])["summary"] == summary


async def test_a_republish_sends_the_same_data_whatever_changed_since(world) -> None:  # noqa: ANN001
    account, chart, jobs, renders, _ = world
    snap = await _take(world)
    # Late samples inside the window, a renamed and then deleted chart: none of it reaches the copy.
    jobs.measurements.submit(account.id, [_sample(START + 600, 99_999.0), _sample(START + 600, 5.0, "web-3")])
    jobs.spaces.update_chart(account.id, chart["space_id"], chart["id"], {"name": "Renamed"})
    jobs.spaces.delete_chart(account.id, chart["space_id"], chart["id"])
    assert await jobs.publish_render(account.id, snap["id"], publish=2)  # the sweeper's call
    [(first, copy_one), (again, copy_two)] = renders.sent
    assert (copy_one, copy_two) == (1, 2)
    assert _without_enqueued_at(again) == _without_enqueued_at(first)
    assert again.title == "Queues" and 99_999.0 not in [v for s in again.series for v in s.values]


async def test_the_first_freeze_wins(world) -> None:  # noqa: ANN001
    account, _, jobs, _, _ = world
    snap = await _take(world)
    stored = jobs.snapshots.frozen(snap["id"])
    other = FrozenData(99, {**stored.body, "series": []}, time.time())
    assert jobs.snapshots.freeze(snap["id"], other, "another line") == stored
    assert jobs.snapshots.get(account.id, snap["id"])["summary"] != "another line"


async def test_annotations_in_the_window_are_frozen_and_drawn(world) -> None:  # noqa: ANN001
    account, _, jobs, renders, annotations = world
    annotations.create_event(account.id, "deploys", "v1.2 out", START + 300, source="ci")
    annotations.create_event(account.id, "deploys", "long one", START + 900, END - 900)
    annotations.create_event(account.id, "deploys", "last week", START - 7 * 86400)
    annotations.create_event(account.id, "outages", "db down", START + 1200)
    snap = await _take(world, annotations=("Deploys",))
    [(request, _)] = renders.sent
    assert [(a.stream, a.title, a.start, a.HasField("end"), a.source) for a in request.annotations] == [
        ("deploys", "v1.2 out", START + 300, False, "ci"), ("deploys", "long one", START + 900, True, "")]
    assert request.annotations[1].end == END - 900
    assert jobs.snapshots.get(account.id, snap["id"])["annotations"] == ["deploys"]
    await _take(world, annotations=("*",))
    assert {a.title for a in renders.sent[-1][0].annotations} == {"v1.2 out", "long one", "db down"}
    await _take(world, chart_type="bignumber", annotations=("*",))
    assert not renders.sent[-1][0].annotations  # a big number has no time axis to mark


async def test_unknown_or_another_accounts_streams_are_refused(world, other_acct) -> None:  # noqa: ANN001
    account, chart, jobs, _, annotations = world
    annotations.create_event(other_acct, "theirs", "not yours", START)
    for names in (("nope",), ("theirs",)):
        valid = validate(SnapshotInput(chart["id"], "line", annotations=names), time.time())
        with pytest.raises(errors.InvalidParams) as caught:
            await jobs.take_snapshot(account, valid, time.time(), None)
        assert caught.value.fields == {"annotations": [f"unknown annotation streams: {names[0]}"]}


async def test_the_pngs_digest_is_kept_with_the_image(world, other_acct) -> None:  # noqa: ANN001
    account, _, jobs, _, _ = world
    snap = await _take(world)
    data = jobs.snapshots.data(account.id, snap["id"])
    assert data["png_sha256"] is None and data["summary"]
    await jobs.render_succeeded(snap["id"], snap["assigned_image_key"], "AB" * 32)
    assert jobs.snapshots.data(account.id, snap["id"])["png_sha256"] == "ab" * 32
    assert jobs.snapshots.get(account.id, snap["id"])["png_sha256"] == "ab" * 32
    with pytest.raises(errors.NotFound):
        jobs.snapshots.data(other_acct, snap["id"])


async def test_a_digest_that_is_no_sha256_is_not_stored(world) -> None:  # noqa: ANN001
    account, _, jobs, _, _ = world
    snap = await _take(world)
    await jobs.render_succeeded(snap["id"], snap["assigned_image_key"], "' OR 1=1 --")
    assert jobs.snapshots.data(account.id, snap["id"])["png_sha256"] is None


async def test_no_data_before_it_is_frozen(world) -> None:  # noqa: ANN001
    account, chart, jobs, _, _ = world
    snap = jobs.snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line"), time.time()), time.time())
    with pytest.raises(errors.NotFound):
        jobs.snapshots.data(account.id, snap["id"])


async def test_deliveries_carry_the_summary_and_the_zone(world) -> None:  # noqa: ANN001
    account, _, jobs, _, _ = world
    destinations = jobs.destinations
    service = destinations.create(account.id, "ops", "mail", {"addresses": "ops@example.com"})
    sent = Publisher()
    deliveries = Deliveries(jobs.snapshots, destinations, AccountStore(jobs.snapshots.engine), jobs.spaces, sent,
                            "https://charts.example", lambda key: f"https://img.example/{key}")
    snap = await _take(world, timezone="Asia/Kolkata", services=(service["id"],))
    [request] = deliveries.requests(snap["id"])
    assert request.timezone == "Asia/Kolkata"
    assert request.summary == jobs.snapshots.get(account.id, snap["id"])["summary"]
    assert "IST" in request.summary
