"""The fast paths of POST /v1/measurements give exactly what the general
paths give: the gateway's plain-sample translation (gateway.translate
_plain_measurement) against _measurement, and validate_samples' per-batch
memory of checked names and tag sets against a batch of one; the columns a
batch of plain samples travels as (SampleColumns, validate_run) against the
messages of the same samples."""

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


# -- columns (SampleColumns): the usual batch carried a name and tag set once ----------------------

COLUMNAR = [
    {"name": "cpu", "value": 1.5, "time": NOW, "tags": {"host": "web-1"}},
    {"name": "cpu", "value": 7, "time": NOW + 1},                     # an integer value, the batch's tags
    {"name": "CPU", "value": -0.0, "tags": {}},                       # the batch's time; another name's case
    {"name": "cpu", "value": 1e-140, "time": NOW + 2, "tags": {"host": "web-1"}},  # stored as 0.0
    {"name": "cpu", "value": 2.5, "time": NOW + 1, "tags": {"host": "web-1"}},     # a second again
]
# Runs with a bad sample: validated sample by sample, every refusal as the long way words it.
COLUMNAR_BAD = [
    {"name": "cpu", "value": 1e200, "time": NOW, "tags": {"host": "web-2"}},       # too large
    {"name": "cpu", "value": 1.0, "time": NOW + 1, "tags": {"host": "web-2"}},     # good, beside it
    {"name": "bad name", "value": 1.0, "time": NOW},
    {"name": "cpu", "value": 1.0, "time": NOW, "tags": {"host": "no|pipes"}},
    {"name": "cpu", "value": 1.0, "time": NOW + 2 * 86_400, "tags": {"host": "web-3"}},  # the future
    {"name": "cpu", "value": 1.0, "time": NOW + 2 * 86_400 + 1, "tags": {"host": "web-3"}},
]


def _stored(request: measurements_pb2.SubmitMeasurementsRequest) -> tuple[list, dict]:
    from snapshot_svc.measurement_api import samples_from

    good, runs, bad = samples_from(request, NOW)
    samples = good + [s for run in runs for s in run.samples()]
    return sorted(samples, key=lambda s: (s.metric, sorted(s.tags.items()), s.time, s.value)), bad


@pytest.mark.parametrize("raws", [COLUMNAR, COLUMNAR_BAD, COLUMNAR + COLUMNAR_BAD], ids=["good", "bad", "mixed"])
@pytest.mark.parametrize("period", [None, 60, 10**6])
def test_columns_store_and_refuse_what_the_messages_would(raws, period):
    body = {"tags": {"region": "eu"}, "time": NOW, "measurements": raws}
    if period is not None:
        body["period"] = period
    request, rejected, total = translate.submit_measurements(body)
    assert rejected == {} and total == len(raws)
    assert request.columns and not request.measurements
    assert sum(len(c.times) for c in request.columns) == len(raws)
    messages, _ = _long_way(raws)
    long_way = measurements_pb2.SubmitMeasurementsRequest(tags={"region": "eu"}, time=NOW, measurements=messages)
    if period is not None:
        long_way.period = period
    assert _stored(request) == _stored(long_way)


def test_columns_are_one_per_name_and_tag_set_with_each_samples_position():
    request, _, _ = translate.submit_measurements({"tags": {"region": "eu"}, "measurements": [
        {"name": "a", "value": 1, "time": NOW}, {"name": "b", "value": 2, "time": NOW},
        {"name": "a", "value": 3, "time": NOW + 1}, {"name": "a", "value": 4, "time": NOW, "tags": {"h": "x"}}]})
    assert [(c.name, dict(c.tags), c.has_tags, list(c.times), list(c.values), list(c.positions))
            for c in request.columns] == [
        ("a", {}, False, [NOW, NOW + 1], [1.0, 3.0], [0, 2]), ("b", {}, False, [NOW], [2.0], [1]),
        ("a", {"h": "x"}, True, [NOW], [4.0], [3])]
    assert dict(request.tags) == {"region": "eu"}


def test_a_batch_with_any_other_sample_or_no_time_goes_as_messages():
    for raws in ([{"name": "a", "value": 1, "time": NOW}, {"name": "a", "count": 2, "sum": 3.0, "time": NOW}],
                 [{"name": "a", "value": 1, "time": NOW}, {"name": "a", "value": 1}],  # no time, none for the batch
                 [{"name": "a", "time": NOW}]):                                          # no value
        request, _, _ = translate.submit_measurements({"measurements": raws})
        assert not request.columns and len(request.measurements) == len(raws)


def test_columns_of_a_grpc_caller_must_be_as_many():
    from chartsnap import errors
    from snapshot_svc.measurement_api import samples_from

    request = measurements_pb2.SubmitMeasurementsRequest(columns=[
        measurements_pb2.SampleColumns(name="a", times=[NOW, NOW + 1], values=[1.0], positions=[0, 1])])
    with pytest.raises(errors.InvalidParams):
        samples_from(request, NOW)
    too_many = measurements_pb2.SubmitMeasurementsRequest(columns=[
        measurements_pb2.SampleColumns(name="a", times=[NOW] * 10_001, values=[1.0] * 10_001)])
    with pytest.raises(errors.InvalidParams):
        samples_from(too_many, NOW)
