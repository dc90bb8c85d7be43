"""The fast paths of POST /v1/measurements give exactly what the general
paths give: the gateway's plain-sample translation (gateway.translate
_plain_measurement) against _measurement, and validate_samples' per-batch
memory of checked names and tag sets against a batch of one."""

from __future__ import annotations

import math

import pytest

from chartsnap.v1 import measurements_pb2
from gateway import translate
from snapshot_svc.measurements import validate_samples

NOW = 1_764_000_000

PLAIN = [
    {"name": "cpu", "value": 1.5, "time": NOW, "tags": {"host": "web-1"}},
    {"name": "cpu", "value": 7, "time": NOW + 1},                     # an integer value
    {"name": "cpu", "value": -0.0, "tags": {}},                       # empty tags replace nothing
    {"name": "Cpu.Upper", "time": NOW},                               # no value: the service refuses it
    {"name": "x" * 1000, "value": 2**63, "tags": {"a" * 255: "b" * 1000}},
]
LONG_WAY = [
    {"name": "cpu", "value": True},                  # a boolean is no number
    {"name": "cpu", "value": math.nan},              # json.loads reads NaN
    {"name": "cpu", "value": 10**400},               # too large for a double
    {"name": "cpu", "value": "5"},                   # a form's string
    {"name": "cpu", "value": 1, "time": 1.7e9},      # a float time
    {"name": "cpu", "value": 1, "time": "2016-02-20T00:00:00Z"},
    {"name": "cpu", "value": 1, "time": 10**13},     # past the epoch range
    {"name": "cpu", "value": 1, "tags": {"host": 5}},
    {"name": "cpu", "value": 1, "tags": ["host"]},
    {"name": 5, "value": 1},
    {"name": "cpu", "count": 2, "sum": 3.0},         # a summary
    {"name": "cpu", "value": 1, "measure_time": NOW},
    {"name": "cpu", "value": 1, "period": 60},
    {"name": "x" * 1001, "value": 1},
    "not an object",
]


def _long_way(raws: list) -> tuple[list, dict]:
    messages, rejected = [], {}
    for i, raw in enumerate(raws):
        try:
            messages.append(translate._measurement(raw, f"measurements[{i}]"))
        except Exception as exc:  # noqa: BLE001 - InvalidParams, as submit_measurements catches
            rejected[f"measurements[{i}]"] = translate._rejection(exc)
    return messages, rejected


@pytest.mark.parametrize("raws", [PLAIN, LONG_WAY, PLAIN + LONG_WAY + PLAIN,
                                  [*PLAIN[:2], {"name": "\ud800", "value": 1}, *PLAIN[2:]]],
                         ids=["plain", "long way", "mixed", "a lone surrogate"])
def test_the_plain_path_translates_as_the_long_way(raws):
    request, rejected, total = translate.submit_measurements(
        {"tags": {"region": "eu"}, "time": NOW, "measurements": raws})
    messages, expected_rejected = _long_way(raws)
    expected = measurements_pb2.SubmitMeasurementsRequest(tags={"region": "eu"}, time=NOW, measurements=messages)
    assert request == expected
    assert rejected == expected_rejected
    assert total == len(raws)


def test_plain_samples_take_the_plain_path():
    for i, raw in enumerate(PLAIN):
        assert translate._plain_measurement(raw, f"measurements[{i}]") is not None
    for i, raw in enumerate(LONG_WAY):
        assert translate._plain_measurement(raw, f"measurements[{i}]") is None, raw


def test_a_batch_checks_each_name_and_tag_set_as_a_batch_of_one_would():
    raws = [{"name": "cpu", "value": 1.0, "time": NOW, "tags": {"Host": "Web-1"}, "has_tags": True},
            {"name": "bad name", "value": 1.0, "time": NOW},
            {"name": "cpu", "value": 2.0, "time": NOW + 1, "tags": {"Host": "Web-1"}, "has_tags": True},
            {"name": "cpu", "value": 3.0, "time": NOW, "tags": {"host": "no/pipes|"}, "has_tags": True},
            {"name": "cpu", "value": 4.0, "time": NOW, "tags": {"host": "no/pipes|"}, "has_tags": True},
            {"name": "bad name", "value": 1.0, "time": NOW},
            {"name": "cpu", "value": 5.0, "time": NOW, "tags": {"host": ["a list"]}, "has_tags": True},
            {"name": "cpu", "value": 6.0, "time": NOW}]
    raws = [{**raw, "path": f"measurements[{i}]"} for i, raw in enumerate(raws)]
    good, bad = validate_samples(raws, {"region": "EU"}, None, NOW)
    one_by_one_good, one_by_one_bad = [], {}
    for raw in raws:
        g, b = validate_samples([raw], {"region": "EU"}, None, NOW)
        one_by_one_good += g
        one_by_one_bad |= b
    assert good == one_by_one_good and bad == one_by_one_bad
    assert [s.tags for s in good] == [{"host": "web-1"}, {"host": "web-1"}, {"region": "eu"}]
    assert set(bad) == {"measurements[1]", "measurements[3]", "measurements[4]", "measurements[5]",
                        "measurements[6]"}
