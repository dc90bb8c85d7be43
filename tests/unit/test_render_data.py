"""snapshot_svc.render_data and snapshot_svc.patterns: what a render needs, read from the store."""

from __future__ import annotations

import time

import pytest

from snapshot_svc import render_data
from snapshot_svc.measurements import MeasurementStore, Sample
from snapshot_svc.patterns import matches, matches_any
from snapshot_svc.render_data import build_render_request

END = 1_700_003_600
START = END - 3600
NOW = END + 5.0


# -- patterns -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, value", [
    ("*", ""), ("*", "anything at all"), ("us-west-*-app", "us-west-21-app"), ("us-west-*-app", "us-west--app"),
    ("prod*", "prod"), ("prod*", "production"), ("*db", "mysql-db"), ("a*b*c", "a-x-b-y-c"), ("exact", "exact"),
    ("a.b", "a.b"), ("(x)+", "(x)+"), ("a*", "a\nb"),
])
def test_pattern_matches(pattern, value):
    assert matches(pattern, value)


@pytest.mark.parametrize("pattern, value", [
    ("us-west-*-app", "us-west-21-db"), ("us-west-*-app", "eu-us-west-21-app"), ("prod", "production"),
    ("a.b", "axb"), ("(x)+", "xx"), ("[ab]", "a"), ("a?", "ab"), ("", "x"), ("exact", "Exact"),
])
def test_pattern_does_not_match(pattern, value):
    assert not matches(pattern, value)


def test_matches_any():
    assert matches_any(["db-*", "web-*"], "web-1")
    assert not matches_any(["db-*", "web-*"], "cache-1")
    assert not matches_any([], "web-1")


def test_pathological_patterns_match_in_linear_time():
    # A regex of `.*` pieces would backtrack for minutes on this.
    started = time.perf_counter()
    assert not matches("*a*a*a*a*a*a*b", "a" * 255)
    assert matches("*a*a*a*a*a*a*", "a" * 255)
    assert time.perf_counter() - started < 0.01


@pytest.mark.parametrize("pattern, value, expected", [
    ("ab*ab", "ab", False), ("ab*ab", "abab", True), ("a*b*c", "abc", True), ("a*b*c", "acb", False),
    ("**", "", True), ("*x*", "yyy", False), ("x", "x", True), ("x", "xx", False),
])
def test_overlapping_pieces(pattern, value, expected):
    assert matches(pattern, value) is expected


# -- build_render_request --------------------------------------------------------------------------------------

def _s(tags: dict, t: int, v: float, metric: str = "cpu") -> Sample:
    return Sample(metric, tags, t, v, 1, v, v, v, v)


@pytest.fixture
def store(db_engine, acct) -> MeasurementStore:
    s = MeasurementStore(db_engine)
    s.submit(acct, [
        _s({"host": "web-1", "env": "prod"}, START + 10, 1.0),
        _s({"host": "web-1", "env": "prod"}, START + 1800, 3.0),
        _s({"host": "web-2", "env": "prod"}, START + 10, 5.0),
        _s({"host": "db-1", "env": "staging"}, START + 10, 100.0),
        _s({"source": "legacy-1"}, START + 10, 7.0),
        _s({"host": "web-1", "env": "prod"}, START - 100, 999.0),  # before the window
        _s({"host": "web-1", "env": "prod"}, START + 20, 50.0, metric="mem"),
    ])
    return s


def _snapshot(acct: int, **kw) -> dict:
    snap = {"id": 7, "job_id": 70, "assigned_image_key": "chart/abcdefghijklmnop-7.png", "end_time": float(END),
            "duration": 3600, "width": 600, "height": 416, "chart_type": "line", "account_id": acct,
            "narrowing": {"tags": [], "source": None}}
    snap.update(kw)
    return snap


def _chart(*streams, **kw) -> dict:
    return {"name": "Servers", "type": "line", "streams": list(streams), "thresholds": [], **kw}


def _series(request) -> dict[str, list[tuple[float, float]]]:
    return {s.label: list(zip(s.times, s.values)) for s in request.series}


def test_request_header_fields(store, acct):
    req = build_render_request(store, _chart({"metric": "cpu"}), _snapshot(acct, width=800, height=300), NOW)
    assert (req.snapshot_id, req.job_id, req.image_key, req.title, req.chart_type) == (
        7, 70, "chart/abcdefghijklmnop-7.png", "Servers", "line")
    assert (req.width, req.height, req.start, req.end, req.enqueued_at) == (800, 300, START, END, NOW)
    assert not req.HasField("y_min") and not req.HasField("y_max") and not req.HasField("big_value")


def test_average_aggregates_every_series_into_one_named_after_the_stream(store, acct):
    req = build_render_request(store, _chart({"metric": "cpu", "group_function": "average"}), _snapshot(acct), NOW)
    bucket0 = START + 10 - (START + 10) % 12
    bucket1 = START + 1800 - (START + 1800) % 12
    assert _series(req) == {"cpu": [(bucket0, (1.0 + 5.0 + 100.0 + 7.0) / 4), (bucket1, 3.0)]}


def test_aggregate_label_prefers_the_stream_name(store, acct):
    req = build_render_request(store, _chart({"metric": "cpu", "name": "CPU %"}), _snapshot(acct), NOW)
    assert [s.label for s in req.series] == ["CPU %"]


@pytest.mark.parametrize("group, expected", [("sum", 113.0), ("min", 1.0), ("max", 100.0)])
def test_group_functions(store, acct, group, expected):
    req = build_render_request(store, _chart({"metric": "cpu", "group_function": group}), _snapshot(acct), NOW)
    assert req.series[0].values[0] == expected


def test_breakout_gives_one_series_per_tag_set_labelled_by_tag_values(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout", "tags": [{"name": "env", "values": ["prod"]}],
                    "color": "#ff0000"})
    req = build_render_request(store, chart, _snapshot(acct), NOW)
    series = _series(req)
    assert set(series) == {"prod, web-1", "prod, web-2"}  # values in tag-name order: env, host
    assert [v for _, v in series["prod, web-1"]] == [1.0, 3.0]
    assert [v for _, v in series["prod, web-2"]] == [5.0]
    assert all(s.color == "" for s in req.series)  # several series: the palette colours them


def test_breakout_with_a_single_series_keeps_the_stream_color(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout", "tags": [{"name": "host", "values": ["db-*"]}],
                    "color": "#00ff00"})
    (only,) = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert (only.label, only.color, list(only.values)) == ("staging, db-1", "#00ff00", [100.0])


def test_aggregated_stream_keeps_its_color(store, acct):
    (only,) = build_render_request(store, _chart({"metric": "cpu", "color": "#123456"}), _snapshot(acct), NOW).series
    assert only.color == "#123456"


def test_breakout_with_dynamic_tags_is_one_aggregated_series(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout", "tags": [{"name": "host", "values": [],
                                                                             "dynamic": True}]})
    (only,) = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert only.label == "cpu" and only.values[0] == (1.0 + 5.0 + 100.0 + 7.0) / 4


def test_stream_tag_filters(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "sum", "tags": [{"name": "host", "values": ["web-*"]}]})
    (only,) = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert list(only.values) == [6.0, 3.0]


def test_stream_legacy_source_filters_on_the_source_tag(store, acct):
    chart = _chart({"metric": "cpu", "source": "legacy-*"})
    (only,) = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert list(only.values) == [7.0]
    star = build_render_request(store, _chart({"metric": "cpu", "source": "*", "group_function": "sum"}),
                                _snapshot(acct), NOW)
    assert star.series[0].values[0] == 113.0  # "*" is no filter


def test_snapshot_tag_narrowing_filters_series(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout"})
    snap = _snapshot(acct, narrowing={"tags": [{"name": "env", "values": ["prod*"]}], "source": None})
    assert set(_series(build_render_request(store, chart, snap, NOW))) == {"prod, web-1", "prod, web-2"}


def test_snapshot_narrowing_combines_with_stream_filters(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout", "tags": [{"name": "host", "values": ["*-1"]}]})
    snap = _snapshot(acct, narrowing={"tags": [{"name": "env", "values": ["prod"]}], "source": None})
    assert set(_series(build_render_request(store, chart, snap, NOW))) == {"prod, web-1"}


def test_snapshot_source_narrowing(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "breakout"})
    snap = _snapshot(acct, narrowing={"tags": [], "source": "legacy-1"})
    assert _series(build_render_request(store, chart, snap, NOW)) == {
        "legacy-1": [(START + 10 - (START + 10) % 12, 7.0)]}
    snap = _snapshot(acct, narrowing={"tags": [], "source": "*"})
    assert len(build_render_request(store, chart, snap, NOW).series) == 4


def test_narrowing_that_matches_nothing_draws_an_empty_series(store, acct):
    snap = _snapshot(acct, narrowing={"tags": [{"name": "env", "values": ["nowhere"]}], "source": None})
    (only,) = build_render_request(store, _chart({"metric": "cpu"}), snap, NOW).series
    assert (only.label, list(only.times), list(only.values)) == ("cpu", [], [])


def test_points_outside_the_window_are_left_out(store, acct):
    chart = _chart({"metric": "cpu", "group_function": "max", "tags": [{"name": "host", "values": ["web-1"]}]})
    (only,) = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert 999.0 not in only.values and all(START <= t <= END for t in only.times)


def test_streams_without_metric_are_skipped_and_several_streams_drawn(store, acct):
    chart = _chart({"metric": ""}, {"metric": "cpu"}, {"metric": "mem", "name": "Memory"})
    assert [s.label for s in build_render_request(store, chart, _snapshot(acct), NOW).series] == ["cpu", "Memory"]


def test_series_are_capped(store, acct, monkeypatch):
    monkeypatch.setattr(render_data, "MAX_SERIES_PER_CHART", 3)
    chart = _chart({"metric": "cpu", "group_function": "breakout"}, {"metric": "mem"})
    assert len(build_render_request(store, chart, _snapshot(acct), NOW).series) == 3


def test_axis_label_and_bounds(store, acct):
    req = build_render_request(store, _chart({"metric": "cpu", "units_long": "percent"}, min=0, max=100),
                               _snapshot(acct), NOW)
    assert (req.y_label, req.y_min, req.y_max) == ("percent", 0.0, 100.0)
    req = build_render_request(store, _chart({"metric": "cpu", "units_long": "percent"}, label="Load"),
                               _snapshot(acct), NOW)
    assert req.y_label == "Load"


def test_line_chart_has_no_big_number(store, acct):
    req = build_render_request(store, _chart({"metric": "cpu"}, thresholds=[{"operator": ">", "value": 1,
                                                                             "type": "red"}]),
                               _snapshot(acct), NOW)
    assert not req.HasField("big_value") and list(req.thresholds) == []


# -- bignumber ----------------------------------------------------------------------------------------------------

def _big(store, acct, stream: dict, **chart_kw):
    chart = _chart(stream, type="bignumber", **chart_kw)
    return build_render_request(store, chart, _snapshot(acct, chart_type="bignumber"), NOW)


def test_bignumber_summary_average(store, acct):
    req = _big(store, acct, {"metric": "cpu", "tags": [{"name": "host", "values": ["web-1"]}],
                             "units_short": "%"})
    assert req.big_value == 2.0 and req.big_units == "%"


@pytest.mark.parametrize("summary, expected", [("sum", 4.0), ("max", 3.0), ("min", 1.0)])
def test_bignumber_summary_functions(store, acct, summary, expected):
    req = _big(store, acct, {"metric": "cpu", "summary_function": summary,
                             "tags": [{"name": "host", "values": ["web-1"]}]})
    assert req.big_value == expected


def test_bignumber_use_last_value(store, acct):
    req = _big(store, acct, {"metric": "cpu", "tags": [{"name": "host", "values": ["web-1"]}]}, use_last_value=True)
    assert req.big_value == 3.0


def test_bignumber_thresholds_are_passed_on(store, acct):
    req = _big(store, acct, {"metric": "cpu"}, thresholds=[{"operator": ">", "value": 90, "type": "red"},
                                                           {"operator": "<", "value": 2, "type": "yellow"}])
    assert [(t.operator, t.value, t.type) for t in req.thresholds] == [(">", 90.0, "red"), ("<", 2.0, "yellow")]


def test_bignumber_without_data_has_no_value(store, acct):
    req = _big(store, acct, {"metric": "cpu", "tags": [{"name": "host", "values": ["nope"]}]})
    assert not req.HasField("big_value")
    req = _big(store, acct, {"metric": "cpu", "tags": [{"name": "host", "values": ["nope"]}]}, use_last_value=True)
    assert not req.HasField("big_value")


def test_bignumber_without_streams(store, acct):
    req = build_render_request(store, _chart(type="bignumber"), _snapshot(acct, chart_type="bignumber"), NOW)
    assert list(req.series) == [] and not req.HasField("big_value")


def test_bignumber_count_is_the_number_of_measurements(store, acct, db_engine):
    # Three more web-1 samples in the first bucket: web-1 has 5 measurements in the window, in 2 buckets.
    store.submit(acct, [_s({"host": "web-1", "env": "prod"}, START + 11 + i, 1.0) for i in range(3)])
    req = _big(store, acct, {"metric": "cpu", "summary_function": "count",
                             "tags": [{"name": "host", "values": ["web-1"]}]})
    assert req.big_value == 5.0


# -- streams read alike are read together --------------------------------------------------------------

def _alone(store, acct, chart) -> list:
    """Each stream of `chart` drawn in a chart of its own: what it draws when read alone."""
    return [s for stream in chart["streams"]
            for s in build_render_request(store, _chart(stream), _snapshot(acct), NOW).series]


def test_streams_read_alike_share_one_read_and_draw_what_each_would_alone(store, acct, monkeypatch):
    chart = _chart({"metric": "cpu", "tags": [{"name": "host", "values": ["web-1"]}], "name": "one"},
                   {"metric": "cpu", "group_function": "breakout"},
                   {"metric": "cpu", "tags": [{"name": "env", "values": ["prod"]}], "group_function": "sum"},
                   {"metric": "mem", "name": "Memory"},
                   {"metric": "cpu", "downsample_function": "max", "name": "peak"})
    alone = _alone(store, acct, chart)
    reads = []
    for name in ("bucketed", "bucketed_by"):
        real = getattr(store, name)
        monkeypatch.setattr(store, name, lambda *a, real=real, name=name: reads.append(name) or real(*a))
    together = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert list(together) == alone and len(alone) == 8
    assert sorted(reads) == ["bucketed", "bucketed_by"]  # four streams alike in one read, the max one in another


def test_a_joint_read_refused_for_its_size_reads_each_stream_alone(db_engine, acct, monkeypatch):
    from snapshot_svc import measurements
    from snapshot_svc.measurements import LEGACY

    store = MeasurementStore(db_engine)
    store.submit(acct, [Sample("hits", {"source": host}, START + i, float(i), 1, float(i), float(i), float(i),
                               float(i), origin=LEGACY, type="counter")
                        for host in ("a", "b") for i in range(0, 600, 10)])
    chart = _chart({"metric": "hits", "source": "a"}, {"metric": "hits", "source": "b", "name": "b"})
    monkeypatch.setattr(measurements, "MAX_POINTS_PER_QUERY", 80)  # one stream's 60 samples, not both's 120
    together = build_render_request(store, chart, _snapshot(acct), NOW).series
    assert list(together) == _alone(store, acct, chart) and all(s.values for s in together)
