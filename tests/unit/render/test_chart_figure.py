"""build_figure() inspected as bokeh objects (no browser)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from bokeh.embed import json_item
from bokeh.models import DatetimeAxis, GlyphRenderer, Label, Legend, Line, Range1d, Scatter, VArea

from bench import sample_charts
from render_svc import figure_style as style
from render_svc.chart_figure import build_figure
from render_svc.chart_plan import NO_DATA_TEXT, align_series, plan_legend, threshold_color
from render_svc.chart_spec import ChartSpec, SeriesSpec, Threshold
from render_svc.number_format import format_compact


def _glyphs(fig, glyph_type):
    return [r.glyph for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, glyph_type)]


def _legend_labels(fig) -> list[str]:
    legends = [obj for obj in fig.below if isinstance(obj, Legend)]
    assert len(legends) == 1, "expected exactly one legend, placed under the plot"
    return [item.label.value for item in legends[0].items]


def _labels(fig) -> list[Label]:
    return [obj for obj in fig.center if isinstance(obj, Label)]


@pytest.mark.parametrize("spec", [
    sample_charts.line_chart(),
    sample_charts.stacked_chart(),
    sample_charts.big_number_chart(),
    sample_charts.empty_chart("line"),
    sample_charts.big_number_chart(None),
], ids=["line", "stacked", "bignumber", "no-data", "bignumber-no-data"])
def test_every_chart_type_is_fixed_size_titled_and_toolbar_free(spec: ChartSpec) -> None:
    fig = build_figure(spec)

    assert (fig.width, fig.height) == (spec.width, spec.height)
    assert fig.sizing_mode == "fixed"
    assert fig.title.text == spec.title
    assert fig.toolbar_location is None
    assert fig.toolbar.logo is None
    assert fig.background_fill_color == fig.border_fill_color == style.BACKGROUND
    # Must serialise for the warm path without a browser or a document.
    assert json.loads(json.dumps(json_item(fig)))["root_id"] == fig.id


def test_custom_size_is_honoured() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), width=800, height=300)
    fig = build_figure(spec)
    assert (fig.width, fig.height) == (800, 300)


def test_line_chart_draws_one_line_per_series_in_the_stream_colours() -> None:
    spec = sample_charts.line_chart(colors=("#123456", None, "#ABCDEF"))
    fig = build_figure(spec)

    lines = _glyphs(fig, Line)
    assert [line.line_color for line in lines] == ["#123456", style.series_palette(3)[1], "#ABCDEF"]
    assert _legend_labels(fig) == ["prod, web-1", "prod, web-2", "prod, web-3"]


def test_time_axis_is_utc_datetime_over_the_requested_window() -> None:
    spec = sample_charts.line_chart()
    fig = build_figure(spec)

    assert isinstance(fig.xaxis[0], DatetimeAxis)
    assert isinstance(fig.x_range, Range1d)
    assert (fig.x_range.start, fig.x_range.end) == (spec.start * 1000, spec.end * 1000)
    assert fig.xaxis[0].axis_label == "2024-05-01 14:05 – 15:05 UTC"
    assert fig.xaxis[0].formatter.minutes == "%H:%M"


def test_multi_day_window_shows_dates_in_caption_and_ticks() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), start=sample_charts.SAMPLE_END - 3 * 86400)
    fig = build_figure(spec)
    assert fig.xaxis[0].axis_label == "2024-04-28 15:05 – 2024-05-01 15:05 UTC"
    assert "%b %d" in fig.xaxis[0].formatter.hours


def test_y_label_and_explicit_y_range() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), y_min=0, y_max=500)
    fig = build_figure(spec)
    assert fig.yaxis[0].axis_label == "ms"
    assert isinstance(fig.y_range, Range1d)
    assert (fig.y_range.start, fig.y_range.end) == (0, 500)


def test_stacked_chart_stacks_areas_on_common_timestamps() -> None:
    spec = sample_charts.stacked_chart(points=8, colors=("#111111", "#222222", "#333333"))
    fig = build_figure(spec)

    areas = _glyphs(fig, VArea)
    assert [area.fill_color for area in areas] == ["#111111", "#222222", "#333333"]
    assert _legend_labels(fig) == ["GET", "POST", "DELETE"]
    # The third series misses its first two samples: they are stacked as zeros.
    source = next(r.data_source for r in fig.renderers if isinstance(r.glyph, VArea))
    assert len(source.data["t"]) == 8
    assert list(source.data["s2"][:2]) == [0.0, 0.0]
    assert fig.y_range.start == 0


def test_align_series_fills_missing_and_nan_with_zero() -> None:
    a = SeriesSpec("a", None, (10.0, 20.0, 30.0), (1.0, float("nan"), 3.0))
    b = SeriesSpec("b", None, (20.0, 40.0), (5.0, 6.0))
    times, (col_a, col_b) = align_series((a, b))
    assert list(times) == [10.0, 20.0, 30.0, 40.0]
    assert list(col_a) == [1.0, 0.0, 3.0, 0.0]
    assert list(col_b) == [0.0, 5.0, 0.0, 6.0]


def test_single_point_series_gets_a_marker() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), series=(
        SeriesSpec("lonely", "#FF0000", (sample_charts.SAMPLE_END - 60,), (3.0,)),))
    fig = build_figure(spec)
    assert [g.fill_color for g in _glyphs(fig, Scatter)] == ["#FF0000"]


def test_too_many_series_collapse_into_more_entry() -> None:
    fig = build_figure(sample_charts.many_series_chart(count=40))
    labels = _legend_labels(fig)
    assert labels[0] == "prod, web-1"
    assert labels[-1].startswith("+") and labels[-1].endswith(" more")
    hidden = int(labels[-1].split()[0][1:])
    assert len(labels) - 1 + hidden == 40
    # The legend keeps to a few rows so the plot keeps most of the height.
    legend = fig.below[-1]
    assert len(labels) / legend.ncols <= 4


def test_plan_legend_fits_everything_when_there_is_room() -> None:
    plan = plan_legend(["a", "b", "c"], width=600, height=416)
    assert plan.shown == 3 and plan.columns == 3


def test_long_labels_are_truncated() -> None:
    long_label = "prod, " + "x" * 100
    spec = dataclasses.replace(sample_charts.line_chart(), series=(
        SeriesSpec(long_label, None, (sample_charts.SAMPLE_END - 60, sample_charts.SAMPLE_END), (1.0, 2.0)),))
    (label,) = _legend_labels(build_figure(spec))
    assert label.endswith("…") and len(label) <= 40


@pytest.mark.parametrize("chart_type", ["line", "stacked"])
@pytest.mark.parametrize("series", [(), (SeriesSpec("prod", "#FF0000", (), ()),)], ids=["no-series", "empty-series"])
def test_no_data_is_an_honest_image_not_an_error(chart_type: str, series: tuple[SeriesSpec, ...]) -> None:
    spec = dataclasses.replace(sample_charts.empty_chart(chart_type), series=series)
    fig = build_figure(spec)

    assert [label.text for label in _labels(fig)] == [NO_DATA_TEXT]
    assert not [r for r in fig.renderers if isinstance(r, GlyphRenderer)]
    assert not [obj for obj in fig.below if isinstance(obj, Legend)]
    # The time window is still shown; the value axis (which would be invented) is not.
    assert (fig.x_range.start, fig.x_range.end) == (spec.start * 1000, spec.end * 1000)
    assert fig.xaxis[0].visible and not fig.yaxis[0].visible
    assert "UTC" in fig.xaxis[0].axis_label


def test_window_falls_back_to_data_extent() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), start=0.0, end=0.0)
    fig = build_figure(spec)
    first, last = spec.series[0].times[0], spec.series[0].times[-1]
    assert (fig.x_range.start, fig.x_range.end) == (first * 1000, last * 1000)


def test_big_number_shows_formatted_value_units_and_window() -> None:
    fig = build_figure(sample_charts.big_number_chart(1234.5))
    texts = {label.name: label for label in _labels(fig)}

    assert texts["big_value"].text == "1.23k"
    assert texts["big_value"].text_color == style.BIG_NUMBER_NEUTRAL
    assert texts["big_value"].text_align == "center"
    assert texts["big_units"].text == "conn"
    assert texts["window"].text.endswith("UTC")
    assert not fig.xaxis[0].visible and not fig.yaxis[0].visible


@pytest.mark.parametrize("value", [None, float("nan")])
def test_big_number_without_value_says_no_data(value: float | None) -> None:
    fig = build_figure(sample_charts.big_number_chart(value))
    texts = {label.name: label.text for label in _labels(fig)}
    assert texts["big_value"] == NO_DATA_TEXT
    assert "big_units" not in texts


def test_big_number_is_coloured_by_thresholds() -> None:
    thresholds = (Threshold(">", 100, "yellow"), Threshold(">", 1000, "red"))
    colors = {
        value: {label.name: label for label in _labels(build_figure(
            sample_charts.big_number_chart(value, thresholds=thresholds)))}["big_value"].text_color
        for value in (50, 500, 5000)
    }
    assert colors == {50: style.BIG_NUMBER_NEUTRAL, 500: style.THRESHOLD_COLORS["yellow"],
                      5000: style.THRESHOLD_COLORS["red"]}


@pytest.mark.parametrize("value, thresholds, expected", [
    (5.0, (Threshold("<", 10, "yellow"),), "yellow"),
    (5.0, (Threshold(">", 10, "yellow"),), None),
    (5.0, (Threshold("=", 5, "red"),), "red"),
    (5.0, (Threshold("<", 10, "yellow"), Threshold("<", 6, "red")), "red"),  # red beats yellow
    (5.0, (Threshold("<", 6, "red"), Threshold("<", 10, "yellow")), "red"),  # regardless of order
    (5.0, (Threshold("~", 1, "red"),), None),                               # unknown operator ignored
])
def test_threshold_color(value: float, thresholds: tuple[Threshold, ...], expected: str | None) -> None:
    want = style.THRESHOLD_COLORS[expected] if expected else style.BIG_NUMBER_NEUTRAL
    assert threshold_color(value, thresholds) == want


@pytest.mark.parametrize("value, text", [
    (0, "0"), (42.0, "42"), (12.3456, "12.3"), (1234, "1.23k"), (12345, "12.3k"),
    (999.7, "1k"), (2_500_000, "2.5M"), (-1234, "-1.23k"), (0.004213, "0.00421"),
    (0.0042, "0.0042"), (3.2e9, "3.2G"), (1.5e-9, "1.5e-9"),
])
def test_format_compact(value: float, text: str) -> None:
    assert format_compact(value) == text


def test_invalid_specs_are_rejected() -> None:
    with pytest.raises(ValueError, match="chart_type"):
        build_figure(ChartSpec(title="x", chart_type="pie"))
    with pytest.raises(ValueError, match="times"):
        build_figure(ChartSpec(title="x", chart_type="line",
                               series=(SeriesSpec("a", None, (1.0, 2.0), (1.0,)),)))


def test_large_values_get_compact_tick_labels() -> None:
    base = sample_charts.line_chart()
    scaled = tuple(dataclasses.replace(s, values=tuple(np.asarray(s.values) * 1000)) for s in base.series)
    fig = build_figure(dataclasses.replace(base, series=scaled))
    assert fig.yaxis[0].formatter.format == "0.[0]a"


# -- issue 10: units on the y ticks, themes -------------------------------


@pytest.mark.parametrize("units, suffix", [("ms", " ms"), ("%", "%"), ("  req / s ", " req / s")])
def test_y_units_short_is_the_y_ticks_suffix(units: str, suffix: str) -> None:
    from bokeh.models import CustomJSTickFormatter

    fig = build_figure(dataclasses.replace(sample_charts.line_chart(), y_units_short=units))
    formatter = fig.yaxis[0].formatter
    assert isinstance(formatter, CustomJSTickFormatter)
    assert formatter.args == {"mode": "plain", "units": suffix}


def test_y_units_keep_compact_numbers() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(), y_units_short="B", series=(
        SeriesSpec("big", None, (1.0, 2.0, 3.0), (1.0, 2e4, 3e6)),))
    assert build_figure(spec).yaxis[0].formatter.args == {"mode": "compact", "units": " B"}


def test_big_number_keeps_big_units_whatever_y_units_short() -> None:
    fig = build_figure(dataclasses.replace(sample_charts.big_number_chart(), y_units_short="ms"))
    assert {label.name: label.text for label in _labels(fig)}["big_units"] == "conn"


def test_dark_theme_colours_every_part() -> None:
    spec = dataclasses.replace(sample_charts.line_chart(colors=(None, None, None)), theme="dark")
    fig = build_figure(spec)
    assert fig.background_fill_color == fig.border_fill_color == style.DARK.background
    assert fig.title.text_color == style.DARK.title
    assert fig.xaxis[0].major_label_text_color == style.DARK.text
    assert fig.xgrid[0].grid_line_color == style.DARK.grid
    assert [line.line_color for line in _glyphs(fig, Line)] == list(style.DARK.series_palette(3))
    big = build_figure(dataclasses.replace(sample_charts.big_number_chart(5000.0, thresholds=(
        Threshold(">", 1000, "red"),)), theme="dark"))
    assert {label.name: label.text_color for label in _labels(big)}["big_value"] == style.DARK.threshold_colors["red"]
    assert big.background_fill_color == style.DARK.background
