"""The data behind a snapshot's picture on real engines (SQLite and
PostgreSQL, NATS JetStream): the frozen body equals the series of the render
request on the stream, every float exactly; a copy the sweeper publishes (a
crash before the first publish, or a request lost from the stream) carries
the very same data, whatever samples arrived since; GetSnapshotData's store
read answers it with the digest once the image is stored."""

from __future__ import annotations

import time

import pytest

from chartsnap import queue
from chartsnap.v1 import render_pb2
from snapshot_svc.accounts import AccountStore
from snapshot_svc.annotations import AnnotationStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.grpc_api import snapshot_data_to_proto
from snapshot_svc.job_sweeper import JobSweeper
from snapshot_svc.jobs import Jobs
from snapshot_svc.measurements import MeasurementStore, Sample
from snapshot_svc.render_queue import RenderQueue
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(60)]

END = 1_764_689_400
START = END - 3600
# Values no decimal rendering keeps by accident: the JSON column must give back every bit.
AWKWARD = [0.1 + 0.2, 1 / 3, 2.0 ** -1074, 1.7976931348623157e308 / 3, -123456789.123456789, 4210.0]


def _sample(t: int, v: float, host: str) -> Sample:
    return Sample("queue.depth", {"host": host}, t, v, 1, v, v, v, v)


@pytest.fixture
def stores(database_url: str):  # noqa: ANN201
    engine = migrated_engine(database_url)
    account, _ = AccountStore(engine).create("frozen@example.com")
    spaces = SpaceStore(engine)
    chart = spaces.create_chart(account.id, spaces.create_space(account.id, "s")["id"], {
        "name": "Queues", "streams": [{"metric": "queue.depth", "group_function": "breakout"}]})
    measurements = MeasurementStore(engine)
    # One sample per 12 s bucket, so the buckets hold the samples themselves.
    measurements.submit(account.id, [_sample(START + 12 * i, v, "web-1") for i, v in enumerate(AWKWARD)]
                        + [_sample(START + 600, 5.0, "web-2")])
    annotations = AnnotationStore(engine)
    annotations.create_event(account.id, "deploys", "v1.2", START + 30, END - 30)
    yield account, chart, spaces, measurements, SnapshotStore(engine), annotations
    engine.dispose()


async def _requests_on_stream(js) -> list[render_pb2.RenderRequest]:  # noqa: ANN001
    info = await js.stream_info(queue.RENDER_STREAM)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(info.config.name, seq)
        out.append(render_pb2.RenderRequest.FromString(message.data))
    return out


def _drawn(request: render_pb2.RenderRequest) -> bytes:
    copy = render_pb2.RenderRequest()
    copy.CopyFrom(request)
    copy.ClearField("enqueued_at")
    return copy.SerializeToString(deterministic=True)


async def test_a_sweepers_copies_carry_the_frozen_data(js, stores) -> None:  # noqa: ANN001
    account, chart, spaces, measurements, snapshots, annotations = stores
    jobs = Jobs(snapshots, spaces, measurements, RenderQueue(js), annotations=annotations)
    valid = validate(SnapshotInput(chart["id"], "stacked", duration=3600, end_time=END, timezone="America/New_York",
                                   scale=2, theme="dark", annotations=("deploys",)), END + 5)
    # Committed, then the process "died" before reading the data or publishing.
    snap = snapshots.create(account.id, valid, time.time() - 60)
    assert snapshots.frozen(snap["id"]) is None
    assert await JobSweeper(js, snapshots, jobs).sweep_once() == 1

    frozen = snapshots.frozen(snap["id"])
    [first] = await _requests_on_stream(js)
    assert [(s.label, dict(s.tags), list(s.times), list(s.values)) for s in first.series] == [
        (s["label"], s["tags"], s["times"], s["values"]) for s in frozen.body["series"]]
    web_1 = next(s for s in first.series if s.tags["host"] == "web-1")
    assert list(web_1.values) == AWKWARD  # every bit, through the JSON column
    assert (first.timezone, first.scale, first.theme) == ("America/New_York", 2.0, "dark")
    assert [a.title for a in first.annotations] == ["v1.2"]
    assert first.summary and first.summary == snapshots.get(account.id, snap["id"])["summary"]

    # Late samples and a deleted chart, then the request is lost: the sweeper's second copy.
    measurements.submit(account.id, [_sample(START + 900, 1e9, "web-1"), _sample(START + 900, 1.0, "web-9")])
    spaces.delete_chart(account.id, chart["space_id"], chart["id"])
    assert await jobs.publish_render(account.id, snap["id"], publish=2)
    [_, second] = await _requests_on_stream(js)
    assert _drawn(second) == _drawn(first)


async def test_the_data_read_answers_what_was_drawn_and_the_digest(js, stores) -> None:  # noqa: ANN001
    account, chart, spaces, measurements, snapshots, _ = stores
    jobs = Jobs(snapshots, spaces, measurements, RenderQueue(js))
    snap = snapshots.create(account.id, validate(SnapshotInput(chart["id"], "line", duration=3600, end_time=END),
                                                 END + 5), time.time())
    assert await jobs.publish_render(account.id, snap["id"], snap, chart)
    [request] = await _requests_on_stream(js)
    data = snapshot_data_to_proto(snapshots.data(account.id, snap["id"]))
    assert (data.start, data.end, data.resolution, data.chart_type, data.timezone) == (START, END, 12, "line", "UTC")
    assert [(s.label, s.metric, dict(s.tags), list(s.times), list(s.values)) for s in data.series] == [
        (s.label, s.metric, dict(s.tags), list(s.times), list(s.values)) for s in request.series]
    assert data.summary == request.summary and data.png_sha256 == ""
    await jobs.render_succeeded(snap["id"], snap["assigned_image_key"], "0f" * 32)
    assert snapshot_data_to_proto(snapshots.data(account.id, snap["id"])).png_sha256 == "0f" * 32
