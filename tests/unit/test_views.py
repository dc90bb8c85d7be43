"""gateway.views: protobuf replies rendered as the REST API's JSON."""

from __future__ import annotations

import json

from google.protobuf.timestamp_pb2 import Timestamp

from chartsnap.v1 import common_pb2, measurements_pb2, snapshots_pb2, spaces_pb2
from gateway import views

BASE = "https://charts.example.com"


def _ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def _snapshot(**overrides) -> snapshots_pb2.Snapshot:
    values = dict(id=71569, job_id=900, duration=3600, end_time=_ts(1455931126), created_at=_ts(1455931127),
                  updated_at=_ts(1455931190), chart_id=12, chart_type="stacked", width=600, height=416)
    values.update(overrides)
    return snapshots_pb2.Snapshot(**values)


def test_snapshot_view_shape():
    out = views.snapshot(_snapshot(image_url="https://img.example.com/chart/tuqlgn1i-71569.png",
                                   share_token="tuqlgn1i-71569"), BASE)
    assert out == {
        "id": 71569,
        "href": "https://charts.example.com/v1/snapshots/71569",
        "job_href": "https://charts.example.com/v1/jobs/900",
        "image_href": "https://img.example.com/chart/tuqlgn1i-71569.png",
        "share_href": "https://charts.example.com/s/tuqlgn1i-71569",
        "duration": 3600,
        "end_time": "2016-02-20T01:18:46Z",
        "created_at": "2016-02-20T01:18:47Z",
        "updated_at": "2016-02-20T01:19:50Z",
        "subject": {"chart": {"id": 12, "sources": ["*"], "type": "stacked"}},
        "timezone": "UTC", "scale": 1.0, "theme": "light", "annotations": [], "summary": None,
        "data_href": "https://charts.example.com/v1/snapshots/71569/data",
    }
    json.dumps(out)  # JSON-serialisable as is


def test_snapshot_view_echoes_the_drawing_options_and_summary():
    out = views.snapshot(_snapshot(timezone="America/New_York", scale=2.0, theme="dark", annotations=["deploys"],
                                   summary="cpu peaked at 4,210 at 09:32 EST, ended at 380"), BASE)
    assert (out["timezone"], out["scale"], out["theme"], out["annotations"], out["summary"]) == (
        "America/New_York", 2.0, "dark", ["deploys"], "cpu peaked at 4,210 at 09:32 EST, ended at 380")


def test_snapshot_view_image_href_is_null_until_rendered():
    assert views.snapshot(_snapshot(image_url=""), BASE)["image_href"] is None


def test_snapshot_view_keeps_narrowed_sources():
    out = views.snapshot(_snapshot(sources=["prod*", "web-1"]), BASE)
    assert out["subject"]["chart"]["sources"] == ["prod*", "web-1"]


def test_snapshot_view_epoch_zero_time():
    assert views.snapshot(_snapshot(end_time=_ts(0)), BASE)["end_time"] == "1970-01-01T00:00:00Z"


def test_iso_ignores_sub_second_part_and_is_utc():
    assert views.iso(Timestamp(seconds=1455931126, nanos=999_999_999)) == "2016-02-20T01:18:46Z"


def test_query_view():
    page = common_pb2.PageInfo(found=3, length=2, offset=1, total=10)
    assert views.query(page) == {"found": 3, "length": 2, "offset": 1, "total": 10}


def test_job_view_queued():
    out = views.job(snapshots_pb2.Job(id=900, state="queued", progress=0.0))
    assert out == {"id": 900, "state": "queued", "progress": 0.0}


def test_job_view_progress_is_rounded():
    assert views.job(snapshots_pb2.Job(id=1, state="working", progress=33.33333))["progress"] == 33.3


def test_job_view_complete_has_output():
    out = views.job(snapshots_pb2.Job(id=900, state="complete", progress=100.0,
                                      image_url="https://img.example.com/chart/a-1.png"))
    assert out == {"id": 900, "state": "complete", "progress": 100.0,
                   "output": {"image_href": "https://img.example.com/chart/a-1.png", "services": []}}


def test_job_view_deliveries():
    j = snapshots_pb2.Job(id=9, state="complete", progress=100.0, image_url="u", deliveries=[
        snapshots_pb2.DeliveryOutcome(service_id="3", type="mail", state="delivered", attempts=1),
        snapshots_pb2.DeliveryOutcome(service_id="4", type="slack", state="failed", attempts=5, error="HTTP 500"),
    ])
    assert views.job(j)["output"]["services"] == [
        {"service_id": "3", "type": "mail", "state": "delivered", "attempts": 1, "error": None},
        {"service_id": "4", "type": "slack", "state": "failed", "attempts": 5, "error": "HTTP 500"},
    ]


def test_job_view_deliveries_without_image():
    j = snapshots_pb2.Job(id=9, state="working", deliveries=[snapshots_pb2.DeliveryOutcome(service_id="3")])
    assert views.job(j)["output"]["image_href"] is None


def test_job_view_failed_has_errors_in_the_error_shape():
    out = views.job(snapshots_pb2.Job(id=9, state="failed", progress=10.0, errors=["render timed out"]))
    assert out["errors"] == {"system": ["render timed out"]}
    assert "output" not in out


def test_space_view():
    s = spaces_pb2.Space(id=4, name="Ops", chart_ids=[7, 8])
    assert views.space(s) == {"id": 4, "name": "Ops", "charts": [{"id": 7}, {"id": 8}]}
    assert views.space(s, with_charts=False) == {"id": 4, "name": "Ops"}


def test_chart_view_minimal():
    c = spaces_pb2.Chart(id=7, space_id=4, name="CPU", type="line",
                         streams=[spaces_pb2.Stream(id=1, metric="cpu", group_function="average",
                                                    summary_function="average")])
    assert views.chart(c) == {
        "id": 7, "name": "CPU", "type": "line",
        "streams": [{"id": 1, "metric": "cpu", "group_function": "average", "summary_function": "average",
                     "source": "*"}],
        "thresholds": [], "use_last_value": False,
        "min": None, "max": None, "label": None, "related_space": None,
    }


def test_chart_view_full():
    c = spaces_pb2.Chart(
        id=7, name="Load", type="bignumber", min=0.0, max=100.0, label="%", related_space=3, use_last_value=True,
        thresholds=[spaces_pb2.Threshold(operator=">", value=90, type="red")],
        streams=[
            spaces_pb2.Stream(id=1, metric="load", group_function="sum", summary_function="max", source="web-*",
                              color="#ff0000", name="Load", units_short="%", units_long="percent", min=0.0,
                              max=10.0, transform_function="x", period=60),
            spaces_pb2.Stream(id=2, metric="mem", group_function="breakout", summary_function="average",
                              tags=[common_pb2.TagFilter(name="env", values=["prod"], grouped=True),
                                    common_pb2.TagFilter(name="host", values=[], dynamic=True)]),
        ],
    )
    out = views.chart(c)
    assert (out["min"], out["max"], out["label"], out["related_space"], out["use_last_value"]) == (
        0.0, 100.0, "%", 3, True)
    assert out["thresholds"] == [{"operator": ">", "value": 90.0, "type": "red"}]
    s1, s2 = out["streams"]
    assert s1 == {"id": 1, "metric": "load", "group_function": "sum", "summary_function": "max",
                  "source": "web-*", "color": "#ff0000", "name": "Load", "units_short": "%",
                  "units_long": "percent", "min": 0.0, "max": 10.0, "transform_function": "x", "period": 60}
    # Tags rather than a source: no "*" source is invented.
    assert s2 == {"id": 2, "metric": "mem", "group_function": "breakout", "summary_function": "average",
                  "tags": [{"name": "env", "values": ["prod"], "grouped": True},
                           {"name": "host", "values": [], "dynamic": True}]}


def test_chart_view_zero_valued_optionals_are_kept_not_null():
    c = spaces_pb2.Chart(id=1, name="c", type="line", min=0.0, related_space=0)
    out = views.chart(c)
    assert out["min"] == 0.0 and out["related_space"] == 0 and out["max"] is None


def test_measurements_view():
    reply = measurements_pb2.QueryMeasurementsResponse(name="cpu", resolution=60, series=[
        measurements_pb2.Series(tags={"host": "a"}, measurements=[measurements_pb2.Point(time=60, value=1.5)]),
        measurements_pb2.Series(tags={}, measurements=[]),
    ])
    assert views.measurements(reply) == {
        "name": "cpu", "resolution": 60,
        "series": [{"tags": {"host": "a"}, "measurements": [{"time": 60, "value": 1.5}]},
                   {"tags": {}, "measurements": []}],
        "links": [],
    }
