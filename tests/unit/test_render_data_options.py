"""snapshot_svc.render_data: each chart stream option reaches the RenderRequest
(summary_function, downsample_function, period, transform_function, name,
color, min/max, units_short, units_long), with each series' metric and tags,
read from a real SQLite store."""

from __future__ import annotations

import logging

import pytest

from snapshot_svc import render_data
from snapshot_svc.measurements import MeasurementStore, Sample
from snapshot_svc.render_data import build_render_request, stream_resolution

END = 1_700_003_640          # a multiple of 60
START = END - 3600           # chart buckets: 12 s
NOW = END + 1.0
B0 = START                   # START % 60 == 0, so a bucket start at every resolution used here


def _plain(tags: dict, t: int, v: float, metric: str = "req") -> Sample:
    return Sample(metric, tags, t, v, 1, v, v, v, v)


def _summary(tags: dict, t: int, count: int, total: float, lo: float, hi: float, metric: str = "lat") -> Sample:
    return Sample(metric, tags, t, total / count, count, total, lo, hi, hi)


@pytest.fixture
def store(db_engine, acct) -> MeasurementStore:
    s = MeasurementStore(db_engine)
    s.submit(acct, [
        # req: two hosts, a plain value every 60 s for the first three minutes
        *[_plain({"host": "web-1"}, B0 + 60 * i, 10.0 * (i + 1)) for i in range(3)],
        *[_plain({"host": "web-2"}, B0 + 60 * i, 1.0) for i in range(3)],
        # lat: summaries, two inside the first 12 s bucket
        _summary({"host": "web-1"}, B0 + 1, 2, 4.0, 1.0, 3.0),
        _summary({"host": "web-1"}, B0 + 5, 4, 20.0, 0.0, 20.0),
        _summary({"host": "web-1"}, B0 + 30, 1, 9.0, 9.0, 9.0),
    ])
    return s


def _snapshot(acct: int, **kw) -> dict:
    snap = {"id": 7, "job_id": 70, "assigned_image_key": "chart/abcdefghijklmnop-7.png", "end_time": float(END),
            "duration": 3600, "width": 600, "height": 416, "chart_type": "line", "account_id": acct,
            "narrowing": {"tags": [], "source": None}}
    snap.update(kw)
    return snap


def _request(store, acct, *streams, chart_type="line", **chart_kw):
    chart = {"name": "Options", "type": chart_type, "streams": list(streams), "thresholds": [], **chart_kw}
    return build_render_request(store, chart, _snapshot(acct, chart_type=chart_type), NOW)


def _points(series) -> list[tuple[float, float]]:
    return list(zip(series.times, series.values))


# -- summary_function and downsample_function ---------------------------------------------------------------

@pytest.mark.parametrize("summary, expected", [
    ("average", 24.0 / 6), ("sum", 24.0), ("min", 0.0), ("max", 20.0), ("count", 6.0)])
def test_summary_function_picks_each_samples_statistic(store, acct, summary, expected):
    (line,) = _request(store, acct, {"metric": "lat", "summary_function": summary}).series
    assert line.times[0] == B0 and line.values[0] == pytest.approx(expected)


@pytest.mark.parametrize("summary, downsample, expected", [
    ("average", "average", (2.0 + 5.0) / 2), ("average", "max", 5.0), ("average", "min", 2.0),
    ("average", "sum", 7.0), ("average", "count", 2.0), ("max", "average", 11.5), ("sum", "max", 20.0),
    ("count", "sum", 6.0),
])
def test_downsample_function_combines_the_samples_of_a_bucket(store, acct, summary, downsample, expected):
    (line,) = _request(store, acct, {"metric": "lat", "summary_function": summary,
                                     "downsample_function": downsample}).series
    assert line.times[0] == B0 and line.values[0] == pytest.approx(expected)


# -- period ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("resolution, period, expected", [
    (12, None, 12), (12, 0, 12), (12, 5, 12), (12, 12, 12), (12, 13, 24), (12, 60, 60), (12, 61, 72),
    (12, 3600, 3600), (1, 7, 7),
])
def test_stream_resolution(resolution, period, expected):
    assert stream_resolution(resolution, period) == expected
    assert expected % resolution == 0


def test_period_coarsens_the_streams_buckets_onto_the_charts_grid(store, acct):
    (fine,) = _request(store, acct, {"metric": "lat", "summary_function": "sum"}).series
    (coarse,) = _request(store, acct, {"metric": "lat", "summary_function": "sum", "period": 60}).series
    assert _points(fine) == [(B0, 24.0), (B0 + 24, 9.0)]
    assert _points(coarse) == [(B0, 33.0)]


def test_p_is_the_seconds_each_point_covers(store, acct):
    stream = {"metric": "req", "summary_function": "sum", "group_function": "sum", "transform_function": "x/p"}
    (unset,) = _request(store, acct, stream).series
    (minute,) = _request(store, acct, dict(stream, period=60)).series
    (two,) = _request(store, acct, dict(stream, period=120)).series
    assert _points(unset) == [(B0, 11.0 / 12), (B0 + 60, 21.0 / 12), (B0 + 120, 31.0 / 12)]
    assert _points(minute) == [(B0, 11.0 / 60), (B0 + 60, 21.0 / 60), (B0 + 120, 31.0 / 60)]
    assert _points(two) == [(B0, 32.0 / 120), (B0 + 120, 31.0 / 120)]  # two minutes' sums, per second


# -- transform_function ---------------------------------------------------------------------------------------

def test_transform_applies_to_every_drawn_point_after_grouping(store, acct):
    (line,) = _request(store, acct, {"metric": "req", "group_function": "sum",
                                     "transform_function": "(x-1)*2"}).series
    assert list(line.values) == [(11.0 - 1) * 2, (21.0 - 1) * 2, (31.0 - 1) * 2]


def test_transform_applies_to_each_breakout_line(store, acct):
    series = _request(store, acct, {"metric": "req", "group_function": "breakout",
                                    "transform_function": "x/10"}).series
    assert {s.label: list(s.values) for s in series} == {"web-1": [1.0, 2.0, 3.0], "web-2": [0.1, 0.1, 0.1]}


def test_points_without_a_finite_result_are_gaps(store, acct):
    (line,) = _request(store, acct, {"metric": "req", "group_function": "breakout", "transform_function": "1/(x-20)",
                                     "tags": [{"name": "host", "values": ["web-1"]}]}).series
    assert _points(line) == [(B0, -0.1), (B0 + 120, 0.1)]


def test_a_stored_formula_that_no_longer_parses_is_drawn_untransformed(store, acct, caplog):
    # Charts saved before transform_function was checked may hold anything.
    with caplog.at_level(logging.WARNING, logger="snapshot_svc.render_data"):
        (line,) = _request(store, acct, {"metric": "req", "group_function": "sum",
                                         "transform_function": "__import__('os')"}).series
    assert list(line.values) == [11.0, 21.0, 31.0]
    assert "untransformed" in caplog.text


def test_transformed_big_number(store, acct):
    req = _request(store, acct, {"metric": "req", "group_function": "sum", "summary_function": "sum",
                                 "transform_function": "x*2", "units_short": "req"}, chart_type="bignumber")
    assert req.big_value == (11.0 + 21.0 + 31.0) * 2 and req.big_units == "req"


def test_big_number_rolls_up_with_the_downsample_function(store, acct):
    req = _request(store, acct, {"metric": "lat", "summary_function": "max", "downsample_function": "max"},
                   chart_type="bignumber")
    assert req.big_value == 20.0


# -- name, color, metric and tags -------------------------------------------------------------------------------

def test_name_labels_the_aggregated_line_and_metric_and_tags_are_filled(store, acct):
    (line,) = _request(store, acct, {"metric": "req", "name": "Requests", "color": "#112233"}).series
    assert (line.label, line.color, line.metric, dict(line.tags)) == ("Requests", "#112233", "req", {})


def test_breakout_lines_are_named_by_stream_and_tags(store, acct):
    series = _request(store, acct, {"metric": "req", "name": "Requests", "group_function": "breakout",
                                    "color": "#112233"}).series
    assert [(s.label, s.metric, dict(s.tags), s.color) for s in series] == [
        ("Requests: web-1", "req", {"host": "web-1"}, ""), ("Requests: web-2", "req", {"host": "web-2"}, "")]


def test_breakout_without_a_name_is_labelled_by_tag_values(store, acct):
    series = _request(store, acct, {"metric": "req", "group_function": "breakout"}).series
    assert [s.label for s in series] == ["web-1", "web-2"]


def test_breakout_reads_no_more_series_than_it_may_draw(store, acct, monkeypatch):
    monkeypatch.setattr(render_data, "MAX_SERIES_PER_CHART", 2)
    series = _request(store, acct, {"metric": "lat"}, {"metric": "req", "group_function": "breakout"},
                      {"metric": "req"}).series
    assert [s.label for s in series] == ["lat", "web-1"]


# -- units ------------------------------------------------------------------------------------------------------

def test_units_short_is_the_y_tick_suffix(store, acct):
    assert _request(store, acct, {"metric": "req", "units_short": "rps"}).y_units_short == "rps"
    assert _request(store, acct, {"metric": "req", "units_short": "ms"}, {"metric": "lat"},
                    {"metric": "lat", "units_short": "ms"}).y_units_short == "ms"


def test_different_units_short_give_no_suffix(store, acct):
    assert _request(store, acct, {"metric": "req", "units_short": "rps"},
                    {"metric": "lat", "units_short": "ms"}).y_units_short == ""
    assert _request(store, acct, {"metric": "req"}).y_units_short == ""


def test_units_long_is_the_axis_label_when_the_chart_has_none(store, acct):
    assert _request(store, acct, {"metric": "req", "units_long": "requests"}).y_label == "requests"
    assert _request(store, acct, {"metric": "req", "units_long": "requests"},
                    {"metric": "lat", "units_long": "milliseconds"},
                    {"metric": "lat", "units_long": "requests"}).y_label == "requests / milliseconds"
    assert _request(store, acct, {"metric": "req", "units_long": "requests"}, label="Load").y_label == "Load"


# -- min and max ---------------------------------------------------------------------------------------------------

def _range(req) -> tuple:
    return (req.y_min if req.HasField("y_min") else None, req.y_max if req.HasField("y_max") else None)


def test_stream_bounds_set_the_axis_when_the_chart_has_none(store, acct):
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100})) == (0.0, 100.0)
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100},
                           {"metric": "lat", "min": -5, "max": 50})) == (-5.0, 100.0)


def test_a_bound_applies_only_when_every_stream_sets_it(store, acct):
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100},
                           {"metric": "lat", "min": 0})) == (0.0, None)


def test_the_charts_own_bounds_win(store, acct):
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100}, max=40)) == (0.0, 40.0)
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100}, min=-1, max=40)) == (-1.0, 40.0)


def test_stacked_bounds_are_the_stacks(store, acct):
    req = _request(store, acct, {"metric": "req", "group_function": "breakout", "min": 5, "max": 100},
                   {"metric": "lat", "min": -10, "max": 50}, chart_type="stacked")
    assert _range(req) == (-10.0, 2 * 100.0 + 50.0)  # two breakout lines and one; a min above 0 counts as 0


def test_big_numbers_have_no_axis(store, acct):
    assert _range(_request(store, acct, {"metric": "req", "min": 0, "max": 100}, chart_type="bignumber")) == (
        None, None)


# -- the metric's own attributes as defaults ---------------------------------------------------------------------

@pytest.fixture
def described(store, acct) -> MeasurementStore:
    """A metric made with a period and display attributes by its first sample."""
    attributes = {"display_units_short": "B", "display_units_long": "bytes", "display_min": 0, "display_max": 64,
                  "display_transform": "x/8", "color": "#abcdef", "summarize_function": "max"}
    store.submit(acct, [Sample("mem", {"host": "db"}, B0 + 1 + 12 * i, 8.0 * (i + 1), 1, 8.0 * (i + 1),
                               8.0 * (i + 1), 8.0 * (i + 1), 8.0 * (i + 1), period=60, attributes=attributes)
                        for i in range(5)])
    return store


def test_metric_attributes_are_the_streams_defaults(described, acct):
    req = _request(described, acct, {"metric": "mem"})
    (line,) = req.series
    assert (req.y_units_short, req.y_label, _range(req), line.color) == ("B", "bytes", (0.0, 64.0), "#abcdef")
    # period 60: one 60 s bucket of five samples 8..40, rolled up by max (summarize_function), then x/8
    assert _points(line) == [(B0, 5.0)]


def test_stream_options_win_over_metric_attributes(described, acct):
    req = _request(described, acct, {"metric": "mem", "units_short": "KiB", "units_long": "kibibytes", "min": 1,
                                     "max": 2, "transform_function": "x", "color": "#000001", "period": 12,
                                     "downsample_function": "min"})
    (line,) = req.series
    assert (req.y_units_short, req.y_label, _range(req), line.color) == ("KiB", "kibibytes", (1.0, 2.0), "#000001")
    assert list(line.values) == [8.0, 16.0, 24.0, 32.0, 40.0]


def test_a_metric_without_metadata_changes_nothing(store, acct):
    assert store.metric_display(acct, "no.such.metric") == (None, {})
    assert render_data.with_metric_defaults({"metric": "x"}, None, {}) == {"metric": "x"}
