"""snapshot_svc.measurements: sample validation, storage, bucketing and queries."""

from __future__ import annotations

import math

import pytest

from chartsnap import errors
from snapshot_svc import measurements as m
from snapshot_svc.measurements import MeasurementStore, Sample, SeriesData, combine, summarise, validate_samples

NOW = 1_700_000_000.0
T0 = 1_699_999_200  # a multiple of 60 and of 3600


def sorted_items(d: dict) -> list:
    return sorted(d.items())


def _one(raw: dict, batch_tags=None, batch_time=None, now=NOW):
    good, bad = validate_samples([raw], batch_tags or {}, batch_time, now)
    return good, bad


def _ok(raw: dict, **kw) -> Sample:
    good, bad = _one(raw, **kw)
    assert bad == {} and len(good) == 1
    return good[0]


def _refused(raw: dict, **kw) -> list[str]:
    good, bad = _one({"path": "measurements[0]", **raw}, **kw)
    assert good == []
    return bad["measurements[0]"]


# -- validate_samples ---------------------------------------------------------------------------

def test_gauge_sample():
    s = _ok({"name": "CPU.Load", "value": 0.5, "time": T0})
    assert s == Sample("cpu.load", {}, T0, 0.5, 1, 0.5, 0.5, 0.5, 0.5)


def test_time_defaults_to_batch_time_then_now():
    assert _ok({"name": "a", "value": 1}, batch_time=T0).time == T0
    assert _ok({"name": "a", "value": 1, "time": T0 + 5}, batch_time=T0).time == T0 + 5
    assert _ok({"name": "a", "value": 1}, now=NOW + 0.7).time == int(NOW)


def test_integer_values_become_floats():
    s = _ok({"name": "a", "value": 3, "time": T0})
    assert s.value == 3.0 and isinstance(s.value, float)


@pytest.mark.parametrize("name", ["a", "A-Z_0.9:x", "x" * 255])
def test_valid_names(name):
    assert _ok({"name": name, "value": 1}).metric == name.lower()


@pytest.mark.parametrize("name", ["", None, "cpu load", "cpu/load", "x" * 256, "héllo", "\ncpu", "a\nb"])
def test_bad_names(name):
    assert _refused({"name": name, "value": 1}) == ["name must be 1-255 of letters, digits and .:-_"]


@pytest.mark.parametrize("raw", [
    {"name": "cpu\n", "value": 1},
    {"name": "cpu", "value": 1, "has_tags": True, "tags": {"host\n": "a"}},
])
def test_trailing_newline_in_names_is_refused(raw):
    assert _refused(raw)


def test_batch_tags_apply_when_sample_has_none():
    assert _ok({"name": "a", "value": 1}, batch_tags={"host": "web-1"}).tags == {"host": "web-1"}


def test_per_sample_tags_replace_batch_tags():
    s = _ok({"name": "a", "value": 1, "has_tags": True, "tags": {"region": "eu"}},
            batch_tags={"host": "web-1", "region": "us"})
    assert s.tags == {"region": "eu"}


def test_empty_per_sample_tags_replace_nothing():
    # Librato's own agents send an empty tags object with every sample.
    assert _ok({"name": "a", "value": 1, "has_tags": True, "tags": {}},
               batch_tags={"host": "web-1"}).tags == {"host": "web-1"}


def test_tags_without_has_tags_are_ignored():
    # The gateway always sends a `tags` map; has_tags says whether the client gave one.
    assert _ok({"name": "a", "value": 1, "tags": {"x": "y"}}, batch_tags={"host": "h"}).tags == {"host": "h"}


@pytest.mark.parametrize("tags, fragment", [
    ({"bad name": "v"}, "tag name 'bad name' must be 1-64"),
    ({"x" * 65: "v"}, "must be 1-64"),
    ({"": "v"}, "must be 1-64"),
    ({"host": ""}, "tag host must have a value of 1-255 characters"),
    ({"host": "v" * 256}, "tag host must have a value of 1-255 characters"),
    ({"host": 5}, "tag host must have a value"),
])
def test_bad_tags(tags, fragment):
    (problem,) = _refused({"name": "a", "value": 1, "has_tags": True, "tags": tags})
    assert fragment in problem


def test_bad_batch_tags_refuse_every_sample_that_uses_them():
    good, bad = validate_samples(
        [{"path": "measurements[0]", "name": "a", "value": 1},
         {"path": "measurements[1]", "name": "b", "value": 2, "has_tags": True, "tags": {"ok": "yes"}}],
        {"bad tag": "v"}, None, NOW)
    assert [s.metric for s in good] == ["b"] and list(bad) == ["measurements[0]"]


def test_tag_limits_inclusive():
    s = _ok({"name": "a", "value": 1, "has_tags": True, "tags": {"k" * 64: "v" * 255}})
    assert s.tags == {"k" * 64: "v" * 255}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "1", [1]])
def test_non_finite_or_non_numeric_values_are_refused(value):
    assert "value must be a finite number" in _refused({"name": "a", "value": value})


def test_time_bounds():
    assert _ok({"name": "a", "value": 1, "time": int(NOW) + 86_400}).time == int(NOW) + 86_400
    assert _ok({"name": "a", "value": 1, "time": 0}).time == 0
    for bad in (int(NOW) + 86_401, -1):
        assert _refused({"name": "a", "value": 1, "time": bad}) == [
            "time must be epoch seconds, at most one day in the future"]


def test_future_batch_time_refuses_samples_without_their_own_time():
    good, bad = validate_samples([{"path": "p0", "name": "a", "value": 1},
                                  {"path": "p1", "name": "b", "value": 1, "time": T0}],
                                 {}, int(NOW) + 10**6, NOW)
    assert [s.metric for s in good] == ["b"] and list(bad) == ["p0"]


def test_summary_sample():
    s = _ok({"name": "lat", "count": 4, "sum": 10.0, "min": 1.0, "max": 4.0, "last": 3.0, "time": T0})
    assert (s.count, s.sum, s.min, s.max, s.last, s.value) == (4, 10.0, 1.0, 4.0, 3.0, 2.5)


def test_summary_sample_extremes_default_to_the_mean():
    s = _ok({"name": "lat", "count": 4, "sum": 10, "time": T0})
    assert (s.min, s.max, s.last, s.value) == (2.5, 2.5, 2.5, 2.5)


@pytest.mark.parametrize("raw, problem", [
    ({"count": 0, "sum": 1}, "count must be a positive integer"),
    ({"count": -2, "sum": 1}, "count must be a positive integer"),
    ({"count": 1.5, "sum": 1}, "count must be a positive integer"),
    ({"count": 2, "sum": math.inf}, "sum must be a finite number"),
    ({"count": 2, "sum": 1, "max": math.nan}, "min, max and last must be finite numbers"),
    ({"count": 2, "sum": 1, "last": "3"}, "min, max and last must be finite numbers"),
    ({}, "value, or count and sum, is required"),
    ({"count": 2}, "value, or count and sum, is required"),
    ({"sum": 2}, "value, or count and sum, is required"),
])
def test_bad_summary_samples(raw, problem):
    assert problem in _refused({"name": "a", **raw})


def test_several_problems_are_listed_for_one_sample():
    problems = _refused({"name": "bad name", "value": math.nan, "time": -5})
    assert len(problems) == 3


def test_value_and_count_are_exclusive():
    # Librato: "The value parameter should not be set if count is set."
    assert _refused({"name": "a", "value": 7, "count": 3, "sum": 100}) == [
        "value and count are exclusive: a summary sends count and sum, not value"]


def test_bad_samples_are_keyed_by_path_and_default_path():
    good, bad = validate_samples([{"name": "ok", "value": 1}, {"path": "gauges[3]", "name": "", "value": 1},
                                  {"name": "", "value": 1}], {}, None, NOW)
    assert [s.metric for s in good] == ["ok"]
    assert set(bad) == {"gauges[3]", "measurements"}


# -- combine / summarise ---------------------------------------------------------------------------

A = [(0, 1.0), (60, 3.0)]
B = [(0, 3.0), (120, 5.0)]


@pytest.mark.parametrize("function, expected", [
    ("average", [(0, 2.0), (60, 3.0), (120, 5.0)]),
    ("mean", [(0, 2.0), (60, 3.0), (120, 5.0)]),
    ("unknown", [(0, 2.0), (60, 3.0), (120, 5.0)]),
    ("sum", [(0, 4.0), (60, 3.0), (120, 5.0)]),
    ("min", [(0, 1.0), (60, 3.0), (120, 5.0)]),
    ("max", [(0, 3.0), (60, 3.0), (120, 5.0)]),
    ("count", [(0, 2.0), (60, 1.0), (120, 1.0)]),
])
def test_combine(function, expected):
    assert combine([B, A], function) == expected


@pytest.mark.parametrize("function", ["average", "mean", "sum", "min", "max", "count", "other"])
@pytest.mark.parametrize("points", [
    [(0, 1.5), (10, -0.0), (20, 0.0), (30, 3), (40, -7.25), (50, 1e300), (60, 5e-324), (70, math.inf)],
    [(10, 2.0), (0, 1.0)],          # not ascending: merged as several series are
    [(0, 1.0), (0, 4.0)],           # two values in one bucket
    [(0, math.nan)],
])
def test_combine_of_one_series_is_the_general_merge(function, points):
    # A second, empty series takes the general path (a list of values per bucket).
    assert repr(combine([points], function)) == repr(combine([points, []], function))


def test_combine_empty():
    assert combine([], "sum") == [] and combine([[], []], "average") == []


@pytest.mark.parametrize("function, expected", [
    ("average", 2.5), ("mean", 2.5), ("sum", 10.0), ("min", 1.0), ("max", 4.0), ("count", 4.0),
])
def test_summarise(function, expected):
    assert summarise([4.0, 1.0, 2.0, 3.0], function) == expected


def test_summarise_empty_is_none():
    assert summarise([], "sum") is None


# -- MeasurementStore ----------------------------------------------------------------------------------

@pytest.fixture
def store(db_engine) -> MeasurementStore:
    return MeasurementStore(db_engine)


def _sample(metric="cpu", tags=None, time=T0, value=1.0, count=1, total=None, lo=None, hi=None) -> Sample:
    total = value * count if total is None else total
    return Sample(metric, tags or {}, time, value, count, total, value if lo is None else lo,
                  value if hi is None else hi, value)


def test_submit_nothing(store, acct):
    assert store.submit(acct, []) == 0


def test_submit_and_read_back_per_second(store, acct):
    assert store.submit(acct, [_sample(time=T0, value=1), _sample(time=T0 + 1, value=2)]) == 2
    (series,) = store.matching_series(acct, "cpu", [])
    assert store.bucketed([series[0]], T0, T0 + 10, 1) == {series[0]: [(T0, 1.0), (T0 + 1, 2.0)]}


def test_same_second_replaces(store, acct):
    store.submit(acct, [_sample(value=1)])
    store.submit(acct, [_sample(value=9)])
    (sid, _), = store.matching_series(acct, "cpu", [])
    assert store.bucketed([sid], T0, T0, 1)[sid] == [(T0, 9.0)]


def test_series_are_per_exact_tag_set(store, acct):
    store.submit(acct, [_sample(tags={"host": "a"}), _sample(tags={"host": "b"}), _sample(tags={}),
                        _sample(tags={"host": "a", "env": "prod"}), _sample(tags={"host": "a"}, time=T0 + 1)])
    tags = [t for _, t in store.matching_series(acct, "cpu", [])]
    assert sorted(tags, key=sorted_items) == sorted(
        [{"host": "a"}, {"host": "b"}, {}, {"env": "prod", "host": "a"}], key=sorted_items)


def test_tag_order_does_not_make_a_new_series(store, acct):
    store.submit(acct, [_sample(tags={"a": "1", "b": "2"})])
    store.submit(acct, [_sample(tags={"b": "2", "a": "1"}, time=T0 + 1)])
    assert len(store.matching_series(acct, "cpu", [])) == 1


def test_matching_series_filters(store, acct):
    store.submit(acct, [_sample(tags={"host": "us-west-21-app", "env": "prod"}),
                        _sample(tags={"host": "us-east-1-app", "env": "prod"}),
                        _sample(tags={"host": "us-west-3-db", "env": "staging"}),
                        _sample(tags={"env": "prod"})])

    def hosts(filters):
        return sorted((t.get("host") for _, t in store.matching_series(acct, "cpu", filters)), key=str)

    assert hosts([("host", ["us-west-*-app"])]) == ["us-west-21-app"]
    assert hosts([("host", ["us-west-*"]), ("env", ["prod"])]) == ["us-west-21-app"]
    assert hosts([("host", ["*-db", "us-east-*"])]) == ["us-east-1-app", "us-west-3-db"]
    assert hosts([("host", ["*"])]) == ["us-east-1-app", "us-west-21-app", "us-west-3-db"]  # tag must exist
    assert hosts([("env", ["prod"])]) == [None, "us-east-1-app", "us-west-21-app"]
    assert hosts([("rack", ["*"])]) == []


def test_metric_names_are_case_insensitive(store, acct):
    store.submit(acct, [_sample(metric="cpu")])
    assert len(store.matching_series(acct, "CPU", [])) == 1


def test_series_are_per_account(store, acct, other_acct):
    store.submit(acct, [_sample(tags={"host": "a"})])
    assert store.matching_series(other_acct, "cpu", []) == []
    store.submit(other_acct, [_sample(tags={"host": "a"}, value=5)])
    (mine,), (theirs,) = store.matching_series(acct, "cpu", []), store.matching_series(other_acct, "cpu", [])
    assert mine[0] != theirs[0]


def test_bucketed_aggregates(store, acct):
    # One summary sample and two gauges in the first minute, one gauge in the next.
    store.submit(acct, [
        _sample(time=T0 + 1, value=2.5, count=4, total=10.0, lo=1.0, hi=4.0),
        _sample(time=T0 + 10, value=5.0),
        _sample(time=T0 + 20, value=0.0),
        _sample(time=T0 + 61, value=7.0),
    ])
    (sid, _), = store.matching_series(acct, "cpu", [])

    def b(function):
        return store.bucketed([sid], T0, T0 + 120, 60, function)[sid]

    assert b("average") == [(T0, 15.0 / 6), (T0 + 60, 7.0)]  # weighted by count
    assert b("sum") == [(T0, 15.0), (T0 + 60, 7.0)]
    assert b("min") == [(T0, 0.0), (T0 + 60, 7.0)]
    assert b("max") == [(T0, 5.0), (T0 + 60, 7.0)]
    assert b("count") == [(T0, 6.0), (T0 + 60, 1.0)]


def test_bucketed_window_is_inclusive(store, acct):
    store.submit(acct, [_sample(time=T0 - 1), _sample(time=T0), _sample(time=T0 + 30), _sample(time=T0 + 31)])
    (sid, _), = store.matching_series(acct, "cpu", [])
    assert [t for t, _ in store.bucketed([sid], T0, T0 + 30, 1)[sid]] == [T0, T0 + 30]


def test_bucketed_nothing(db_engine):
    assert MeasurementStore(db_engine).bucketed([], 0, 10, 1) == {}


def _seed_hosts(store, acct):
    store.submit(acct, [
        _sample(tags={"host": "web-1", "env": "prod"}, time=T0, value=1.0),
        _sample(tags={"host": "web-1", "env": "prod"}, time=T0 + 60, value=3.0),
        _sample(tags={"host": "web-2", "env": "prod"}, time=T0, value=5.0),
        _sample(tags={"host": "db-1", "env": "staging"}, time=T0, value=100.0),
    ])


def test_query_without_grouping_returns_each_series(store, acct):
    _seed_hosts(store, acct)
    result = sorted(store.query(acct, "cpu", T0, T0 + 120, 60, {"host": "web-*"}), key=lambda s: s.tags["host"])
    assert result == [
        SeriesData({"env": "prod", "host": "web-1"}, [(T0, 1.0), (T0 + 60, 3.0)]),
        SeriesData({"env": "prod", "host": "web-2"}, [(T0, 5.0)]),
    ]


def test_query_series_without_points_in_the_window_are_empty(store, acct):
    _seed_hosts(store, acct)
    result = store.query(acct, "cpu", T0 + 30, T0 + 120, 60, {"host": "web-*"})
    assert {s.tags["host"]: s.points for s in result} == {"web-1": [(T0 + 60, 3.0)], "web-2": []}


def test_query_group_by_tag(store, acct):
    _seed_hosts(store, acct)
    result = store.query(acct, "cpu", T0, T0 + 120, 60, {}, group_by="env", group_function="sum")
    by_env = {s.tags["env"]: s.points for s in result}
    assert by_env == {"prod": [(T0, 6.0), (T0 + 60, 3.0)], "staging": [(T0, 100.0)]}


def test_query_group_by_star_merges_everything(store, acct):
    _seed_hosts(store, acct)
    (only,) = store.query(acct, "cpu", T0, T0 + 120, 60, {"env": "prod"}, group_by="*", group_function="max")
    assert only == SeriesData({}, [(T0, 5.0), (T0 + 60, 3.0)])


def test_query_group_by_missing_tag_groups_under_empty_value(store, acct):
    _seed_hosts(store, acct)
    (only,) = store.query(acct, "cpu", T0, T0 + 120, 60, {}, group_by="rack")
    assert only.tags == {"rack": ""} and only.points[0] == (T0, (1.0 + 5.0 + 100.0) / 3)


def test_query_summary_function_applies_within_buckets(store, acct):
    _seed_hosts(store, acct)
    (only,) = store.query(acct, "cpu", T0, T0 + 120, 3600, {"host": "web-1"}, summary_function="sum")
    assert only.points == [(T0, 4.0)]


def test_query_unknown_metric_or_no_match_is_not_found(store, acct, other_acct):
    _seed_hosts(store, acct)
    with pytest.raises(errors.NotFound):
        store.query(acct, "memory", T0, T0 + 60, 60, {})
    with pytest.raises(errors.NotFound):
        store.query(acct, "cpu", T0, T0 + 60, 60, {"host": "nope-*"})
    with pytest.raises(errors.NotFound):
        store.query(other_acct, "cpu", T0, T0 + 60, 60, {})


def test_query_caps_the_number_of_series(store, acct, monkeypatch):
    monkeypatch.setattr(m, "MAX_SERIES_PER_QUERY", 3)
    store.submit(acct, [_sample(tags={"host": f"h{i}"}) for i in range(5)])
    assert len(store.query(acct, "cpu", T0, T0, 1, {})) == 3


def test_validated_samples_store_round_trip(store, acct):
    good, bad = validate_samples([
        {"path": "p0", "name": "Req.Latency", "count": 2, "sum": 30.0, "min": 10.0, "max": 20.0, "time": T0},
        {"path": "p1", "name": "req.latency", "value": 40.0, "time": T0 + 1},
    ], {"svc": "api"}, None, NOW)
    assert bad == {}
    assert store.submit(acct, good) == 2
    (only,) = store.query(acct, "REQ.LATENCY", T0, T0 + 59, 60, {"svc": "api"})
    assert only.points == [(T0, 70.0 / 3)]
