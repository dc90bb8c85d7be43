"""Every list bound of chartsnap.bounds is enforced by the gateway's
translation and again by the snapshot service's validation (for gRPC callers),
naming the field; non-ASCII credentials and non-finite numbers never get
further than a 4xx or a null."""

from __future__ import annotations

import json
import math

import pytest

from chartsnap import bounds, errors
from chartsnap.basic_auth import parse_basic
from chartsnap.v1 import measurements_pb2, snapshots_pb2
from gateway import translate, views
from snapshot_svc.charts import validate_chart
from snapshot_svc.grpc_api import check_snapshot_lists
from snapshot_svc.measurements import validate_samples


def _fields(call, *args) -> dict:  # noqa: ANN001
    with pytest.raises(errors.InvalidParams) as caught:
        call(*args)
    return caught.value.fields


def _snapshot(**extra) -> dict:  # noqa: ANN003
    return {"subject": {"chart": {"id": 1, "type": "line", **extra}}}


@pytest.mark.parametrize("body, field", [
    (_snapshot(tags=[{"name": "h", "values": ["x"] * (bounds.MAX_TAG_VALUES + 1)}]), "subject.chart.tags[0].values"),
    (_snapshot(tags=[{"name": "h", "values": ["x"]}] * (bounds.MAX_TAG_FILTERS + 1)), "subject.chart.tags"),
    ({**_snapshot(), "services": ["1"] * (bounds.MAX_SNAPSHOT_SERVICES + 1)}, "services"),
])
def test_gateway_refuses_long_snapshot_lists(body: dict, field: str) -> None:
    assert list(_fields(translate.create_snapshot, body)) == [field]


@pytest.mark.parametrize("body, field", [
    ({"streams": [{"metric": "m"}] * (bounds.MAX_STREAMS + 1)}, "streams"),
    ({"thresholds": [{"operator": ">", "value": 1, "type": "red"}] * (bounds.MAX_THRESHOLDS + 1)}, "thresholds"),
    ({"streams": [{"metric": "m", "tags": [{"name": "h", "values": ["*"] * (bounds.MAX_TAG_VALUES + 1)}]}]},
     "streams[0].tags[0].values"),
])
def test_gateway_refuses_long_chart_lists(body: dict, field: str) -> None:
    assert list(_fields(translate.chart_fields, body)) == [field]


def test_gateway_refuses_long_measurement_and_settings_lists() -> None:
    assert list(_fields(translate.submit_measurements,
                        {"measurements": [{"name": "m", "value": 1}] * (bounds.MAX_BATCH + 1)})) == ["measurements"]
    assert list(_fields(translate.destination_settings,
                        {f"k{i}": "v" for i in range(bounds.MAX_SETTINGS + 1)})) == ["settings"]
    query = {f"tags[t{i}]": "v" for i in range(bounds.MAX_QUERY_TAGS + 1)} | {"duration": "60"}
    assert list(_fields(translate.query_measurements, "m", query)) == ["tags"]


def test_service_refuses_the_same_lists_from_grpc_callers() -> None:
    request = snapshots_pb2.CreateSnapshotRequest()
    request.subject.tags.add(name="h", values=["x"] * (bounds.MAX_TAG_VALUES + 1))
    request.services.extend(["1"] * (bounds.MAX_SNAPSHOT_SERVICES + 1))
    assert set(_fields(check_snapshot_lists, request)) == {"subject.chart.tags[0].values", "services"}
    stream = {"metric": "m", "tags": [{"name": "h", "values": ["x"] * (bounds.MAX_TAG_VALUES + 1)}]}
    assert list(_chart_fields({"name": "c", "streams": [stream]})) == ["streams[0].tags[0].values"]
    assert list(_fields(validate_samples, [{"name": "m", "value": 1.0}] * (bounds.MAX_BATCH + 1), {}, None, 0.0)) \
        == ["measurements"]


def _chart_fields(fields: dict) -> dict:
    with pytest.raises(errors.InvalidParams) as caught:
        validate_chart(fields, creating=True)
    return caught.value.fields


def test_too_many_tags_on_one_sample_is_refused_by_the_service() -> None:
    good, bad = validate_samples([{"name": "m", "value": 1.0, "has_tags": True, "path": "measurements[0]",
                                   "tags": {f"t{i}": "v" for i in range(bounds.MAX_MEASUREMENT_TAGS + 1)}}],
                                 {}, None, 1000.0)
    assert not good and bad == {"measurements[0]": [f"at most {bounds.MAX_MEASUREMENT_TAGS} tags"]}


@pytest.mark.parametrize("header", ["Basic ééé", "Basic \u0000", "Basic " + "ÿ" * 10, "Basic dXNlcjpwYXNz\x7f"])
def test_non_ascii_basic_credentials_are_malformed_not_a_crash(header: str) -> None:
    assert parse_basic(header) is None


def test_overflowed_values_are_null_and_the_body_is_strict_json() -> None:
    reply = measurements_pb2.QueryMeasurementsResponse(name="m", resolution=60)
    series = reply.series.add()
    series.measurements.add(time=0, value=math.inf)
    series.measurements.add(time=60, value=math.nan)
    series.measurements.add(time=120, value=1.5)
    body = views.measurements(reply)
    assert [p["value"] for p in body["series"][0]["measurements"]] == [None, None, 1.5]
    json.dumps(body, allow_nan=False)
