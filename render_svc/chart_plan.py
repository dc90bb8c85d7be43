"""Every decision about what one chart shows, made once per render: its plan.

:func:`plan_figure` turns a ChartSpec into a :class:`TimeseriesPlan` or a
:class:`BigNumberPlan`: the time window and its caption, the series aligned as
the glyphs draw them, the colours, the y range, the tick style, the legend
grid, the annotation marks (render_svc.annotation_layout), the ticks in the
request's time zone (render_svc.time_axis), the theme, the big number's text,
colour and sizes. chart_figure draws a plan as a
fresh bokeh figure; figure_templates writes the same plan's values into a kept
figure of the same shape. Neither computes anything of its own, so the two
render paths cannot drift apart.

Plain data and arithmetic (numpy; no bokeh model is built here).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

from chartsnap.charts import CHART_TYPES
from render_svc import figure_style as style
from render_svc.annotation_layout import AnnotationsPlan, plan_annotations
from render_svc.chart_spec import ChartSpec, SeriesSpec, Threshold
from render_svc.number_format import format_compact
from render_svc.render_options import UTC_ZONE
from render_svc.time_axis import window_caption, zoned_ticks

logger = logging.getLogger(__name__)

NO_DATA_TEXT = "No data"

# Used when the caller gave no window and there is no data to derive one from,
# so that the time axis still shows something sensible.
_FALLBACK_WINDOW_S = 3600.0

# A time axis spanning more than this shows dates in its ticks.
_ONE_DAY_S = 86400

# Padding of a y range fitted to the data, as a share of the data's extent.
Y_RANGE_PADDING = 0.08

# Legend sizing estimates (px). Bokeh lays the legend out in the browser, so we
# estimate text widths here to decide rows/columns before serialising.
LEGEND_ROW_HEIGHT = 18
LEGEND_CHAR_WIDTH = 6.2        # average advance of an 11px sans label
LEGEND_GLYPH_WIDTH = 16
LEGEND_LABEL_STANDOFF = 6
LEGEND_SPACING = 4
LEGEND_PADDING = 4
LEGEND_MARGIN = 8
_LEGEND_COLUMN_GAP = 14
_LEGEND_LEFT_OFFSET = 56        # the legend starts under the plot frame, right of the y axis
_PLOT_RIGHT_BORDER = 20         # the figure's min_border_right
_LEGEND_MAX_LABEL_CHARS = 40

# A series with fewer points would be invisible (or a bare segment) as a line.
MIN_POINTS_FOR_A_BARE_LINE = 3

# Roughly the height a big number's title takes; the value fits in the rest.
_BIG_NUMBER_TITLE_PX = 40

ValueTicks = Literal["compact", "scientific", "plain"]


@dataclass(frozen=True)
class TimeWindow:
    """The x range of a time series chart."""

    start_s: float     # epoch seconds
    end_s: float
    caption: str       # the x axis label, e.g. "2024-05-01 14:05 – 15:05 UTC"
    multi_day: bool    # ticks need the date, not only the clock time
    # (epoch ms, label) of each tick in the request's zone; None in UTC, where
    # bokeh's own DatetimeTicker and formatter draw them.
    ticks: tuple[tuple[float, str], ...] | None = None

    @property
    def start_ms(self) -> float:
        return self.start_s * 1000.0

    @property
    def end_ms(self) -> float:
        return self.end_s * 1000.0

    @property
    def middle_ms(self) -> float:
        return (self.start_s + self.end_s) * 500.0


@dataclass(frozen=True)
class YRange:
    """The value axis: ``fitted`` to the data (with any bound pinned) or fixed
    to both bounds the request gave."""

    fitted: bool
    start: float | None = None
    end: float | None = None

    def attributes(self) -> dict[str, float]:
        """The properties set on the bokeh range (DataRange1d when fitted, else Range1d)."""
        if not self.fitted:
            return {"start": self.start, "end": self.end}
        attributes: dict[str, float] = {"range_padding": Y_RANGE_PADDING}
        if self.start is not None:
            attributes["start"] = self.start
        if self.end is not None:
            attributes["end"] = self.end
        return attributes


@dataclass(frozen=True)
class LegendPlan:
    columns: int
    shown: int         # series entries shown; the rest collapse into "+N more"
    label_width: int   # px reserved per label (widest label + column gap)
    entries: tuple[str, ...] = ()  # the text of every item: the shown labels, then any "+N more"

    @property
    def has_more_entry(self) -> bool:
        return len(self.entries) > self.shown


@dataclass(frozen=True, eq=False)
class TimeseriesPlan:
    """A line or stacked chart. Without data only the window is planned: the
    figure keeps its time axis and says "No data"."""

    chart_type: str
    title: str
    width: int
    height: int
    window: TimeWindow
    has_data: bool
    colors: tuple[str, ...] = ()     # one per series
    # Columns of each data source: per series {"t", "v"} for lines; one
    # {"t", "s0", "top0", "s1", ...} for a stack (bands on the union of all times).
    sources: tuple[dict[str, np.ndarray], ...] = ()
    markers: tuple[bool, ...] = ()   # lines: the series is also drawn as points
    y_range: YRange | None = None
    value_ticks: ValueTicks = "plain"
    y_label: str | None = None
    y_units: str = ""                # appended to each y tick label (" ms", "%"); "" = plain numbers
    legend: LegendPlan = LegendPlan(columns=1, shown=0, label_width=0)
    annotations: AnnotationsPlan | None = None
    theme: str = style.DEFAULT_THEME


@dataclass(frozen=True)
class BigNumberPlan:
    title: str
    width: int
    height: int
    has_data: bool
    text: str          # the formatted value, or NO_DATA_TEXT
    color: str
    weight: str        # "bold" for a value; a missing one is deliberately quieter
    font_px: int
    value_y: float     # centre of the value, as a share of the height
    units: str         # "" when there is no units line
    units_px: int
    units_y_offset: float  # px from the value's centre to the units' centre
    caption: str | None    # the window under the value; None when the request named none
    theme: str = style.DEFAULT_THEME


FigurePlan = Union[TimeseriesPlan, BigNumberPlan]


def plan_figure(spec: ChartSpec) -> FigurePlan:
    """The plan of ``spec``'s figure; ValueError for a spec that cannot be drawn."""
    if spec.chart_type not in CHART_TYPES:
        raise ValueError(f"unknown chart_type {spec.chart_type!r}; expected one of {CHART_TYPES}")
    if spec.width <= 0 or spec.height <= 0:
        raise ValueError(f"chart size must be positive, got {spec.width}x{spec.height}")
    for s in spec.series:
        if len(s.times) != len(s.values):
            raise ValueError(f"series {s.label!r} has {len(s.times)} times but {len(s.values)} values")
    if spec.chart_type == "bignumber":
        return _plan_big_number(spec)
    return _plan_timeseries(spec)


def has_data(spec: ChartSpec) -> bool:
    """True when there is at least one point (or a big-number value) to draw."""
    if spec.chart_type == "bignumber":
        return spec.big_value is not None and not math.isnan(spec.big_value)
    return any(len(s.times) > 0 for s in spec.series)


# --------------------------------------------------------------------------
# Time series (line / stacked)
# --------------------------------------------------------------------------


def _plan_timeseries(spec: ChartSpec) -> TimeseriesPlan:
    window = _time_window(spec)
    common = {"chart_type": spec.chart_type, "title": spec.title, "width": spec.width,
              "height": spec.height, "window": window, "theme": spec.theme,
              "annotations": plan_annotations(spec.annotations, window.start_s, window.end_s,
                                              plot_width_px(spec.width))}
    if not has_data(spec):
        return TimeseriesPlan(**common, has_data=False)
    if spec.chart_type == "stacked":
        sources, values = _stacked_sources(spec.series)
        markers: tuple[bool, ...] = ()
    else:
        sources, values = _line_sources(spec.series)
        markers = tuple(len(s.times) < MIN_POINTS_FOR_A_BARE_LINE for s in spec.series)
    labels = [_short_label(s.label) for s in spec.series]
    return TimeseriesPlan(
        **common, has_data=True, colors=_series_colors(spec), sources=sources, markers=markers,
        y_range=_y_range(spec, values), value_ticks=_value_ticks(values), y_label=spec.y_label or None,
        y_units=units_suffix(spec.y_units_short), legend=plan_legend(labels, spec.width, spec.height))


def plot_width_px(width: int) -> int:
    """About how wide the plot frame of a time series figure ``width`` px wide is."""
    return max(1, width - _LEGEND_LEFT_OFFSET - _PLOT_RIGHT_BORDER)


def units_suffix(units_short: str) -> str:
    """What follows a y tick's number: "%" directly ("80%"), other units after a space ("12 ms")."""
    units = " ".join(units_short.split())[:16]
    if not units:
        return ""
    return units if units in ("%", "‰", "°") else f" {units}"


def _time_window(spec: ChartSpec) -> TimeWindow:
    """The requested window, else the data extent, else an hour up to the only time known."""
    if spec.end > spec.start:
        start_s, end_s = spec.start, spec.end
    else:
        times = [t for s in spec.series for t in s.times]
        if times and max(times) > min(times):
            start_s, end_s = min(times), max(times)
        else:
            end_s = times[0] if times else spec.start
            start_s = end_s - _FALLBACK_WINDOW_S
    multi_day = end_s - start_s > _ONE_DAY_S
    ticks = None
    if spec.timezone != UTC_ZONE:
        ticks = zoned_ticks(start_s, end_s, spec.timezone, plot_width_px(spec.width), multi_day)
    return TimeWindow(start_s, end_s, window_caption(start_s, end_s, spec.timezone), multi_day=multi_day,
                      ticks=ticks)


def _series_colors(spec: ChartSpec) -> tuple[str, ...]:
    palette = style.theme_named(spec.theme).series_palette(len(spec.series))
    return tuple(s.color or palette[i] for i, s in enumerate(spec.series))


def _line_sources(series: tuple[SeriesSpec, ...]) -> tuple[tuple[dict[str, np.ndarray], ...], np.ndarray]:
    """One source per line, and every value (what the y axis must show)."""
    sources = tuple({"t": np.asarray(s.times, dtype=float) * 1000.0, "v": np.asarray(s.values, dtype=float)}
                    for s in series)
    values = np.concatenate([source["v"] for source in sources]) if sources else np.array([])
    return sources, values


def _stacked_sources(series: tuple[SeriesSpec, ...]) -> tuple[tuple[dict[str, np.ndarray], ...], np.ndarray]:
    """One source for the whole stack: each band and its top edge, on the union
    of all times; and the totals plus zero (what the y axis must show)."""
    times_s, columns = align_series(series)
    data: dict[str, np.ndarray] = {"t": times_s * 1000.0}
    tops = np.cumsum(columns, axis=0)
    for i, column in enumerate(columns):
        data[f"s{i}"] = column
        data[f"top{i}"] = tops[i]
    totals = np.sum(columns, axis=0) if columns else np.array([])
    return (data,), np.concatenate([totals, np.zeros(1)])


def align_series(series: tuple[SeriesSpec, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Put every series on the union of all timestamps; missing (or NaN) points are 0.

    Stacking needs one x per band row, and treating a missing sample as zero
    matches what the API's stacked charts show.
    """
    all_times = np.unique(np.concatenate([np.asarray(s.times, dtype=float) for s in series]))
    columns: list[np.ndarray] = []
    for s in series:
        column = np.zeros(all_times.shape, dtype=float)
        if s.times:
            positions = np.searchsorted(all_times, np.asarray(s.times, dtype=float))
            column[positions] = np.nan_to_num(np.asarray(s.values, dtype=float), nan=0.0)
        columns.append(column)
    return all_times, columns


def _value_ticks(values: np.ndarray) -> ValueTicks:
    finite = values[np.isfinite(values)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if largest >= 10_000:
        # "12.5k" reads faster than "12500" or "1.25e+4".
        return "compact"
    return "scientific" if largest != 0 and largest < 1e-3 else "plain"


def _y_range(spec: ChartSpec, values: np.ndarray) -> YRange:
    y_min, y_max = spec.y_min, spec.y_max
    if y_min is not None and y_max is not None:
        if y_max > y_min:
            return YRange(fitted=False, start=y_min, end=y_max)
        logger.warning("ignoring y range [%s, %s] of %r: max must exceed min", y_min, y_max, spec.title)
        y_min = y_max = None
    finite = values[np.isfinite(values)]
    if y_min is None and spec.chart_type == "stacked" and finite.size and float(finite.min()) >= 0:
        # Stacks are read from zero; padding below zero only wastes space.
        y_min = 0
    return YRange(fitted=True, start=y_min, end=y_max)


def _short_label(label: str) -> str:
    label = label or "(unnamed)"
    if len(label) <= _LEGEND_MAX_LABEL_CHARS:
        return label
    return label[: _LEGEND_MAX_LABEL_CHARS - 1] + "…"


def plan_legend(labels: list[str], width: int, height: int) -> LegendPlan:
    """Decide the legend grid under the plot.

    The legend may take at most about a fifth of the image height; when the
    entries do not fit, the tail is replaced by a "+N more" entry so the chart
    itself keeps most of the space.
    """
    if not labels:
        return LegendPlan(columns=1, shown=0, label_width=0)
    label_width = int(max(len(label) for label in labels) * LEGEND_CHAR_WIDTH) + _LEGEND_COLUMN_GAP
    item_width = LEGEND_GLYPH_WIDTH + LEGEND_LABEL_STANDOFF + label_width + LEGEND_SPACING
    usable_width = width - _LEGEND_LEFT_OFFSET - 2 * (LEGEND_MARGIN + LEGEND_PADDING)
    columns = max(1, min(len(labels), int(usable_width // item_width)))
    max_rows = max(1, min(4, int(height * 0.2) // LEGEND_ROW_HEIGHT))
    capacity = columns * max_rows
    shown = len(labels) if len(labels) <= capacity else capacity - 1
    hidden = len(labels) - shown
    entries = tuple(labels[:shown]) + ((f"+{hidden} more",) if hidden > 0 else ())
    return LegendPlan(columns=columns, shown=shown, label_width=label_width, entries=entries)


# --------------------------------------------------------------------------
# Big number
# --------------------------------------------------------------------------


def _plan_big_number(spec: ChartSpec) -> BigNumberPlan:
    plot_height = spec.height - _BIG_NUMBER_TITLE_PX
    present = has_data(spec)
    if present:
        assert spec.big_value is not None
        text = format_compact(spec.big_value)
        color = threshold_color(spec.big_value, spec.thresholds, style.theme_named(spec.theme))
        units, weight = spec.big_units, "bold"
        font_px = _fit_font_px(text, spec.width, plot_height, max_fraction=0.42)
    else:
        # Deliberately quieter than a value: grey, regular weight, smaller.
        text, color, units, weight = NO_DATA_TEXT, style.theme_named(spec.theme).no_data, "", "normal"
        font_px = _fit_font_px(text, spec.width, plot_height, max_fraction=0.14)
    units_px = max(12, min(int(font_px * 0.3), 28))
    return BigNumberPlan(
        title=spec.title, width=spec.width, height=spec.height, has_data=present,
        text=text, color=color, weight=weight, font_px=font_px, value_y=0.55 if units else 0.5,
        units=units, units_px=units_px, units_y_offset=-(font_px * 0.5 + units_px * 0.9),
        caption=window_caption(spec.start, spec.end, spec.timezone) if spec.end > spec.start else None,
        theme=spec.theme)


def threshold_color(value: float, thresholds: tuple[Threshold, ...], theme: style.Theme = style.LIGHT) -> str:
    """Colour for a big-number value: red beats yellow beats the neutral default."""
    matched = {t.kind for t in thresholds if _threshold_matches(value, t)}
    for kind in ("red", "yellow"):
        if kind in matched:
            return theme.threshold_colors[kind]
    return theme.big_number_neutral


def _threshold_matches(value: float, threshold: Threshold) -> bool:
    if threshold.operator == ">":
        return value > threshold.value
    if threshold.operator == "<":
        return value < threshold.value
    if threshold.operator == "=":
        return math.isclose(value, threshold.value, rel_tol=1e-9, abs_tol=1e-12)
    logger.warning("ignoring threshold with unknown operator %r", threshold.operator)
    return False


def _fit_font_px(text: str, width: int, height: int, max_fraction: float) -> int:
    # Bold sans digits are ~0.6em wide; leave 15% side margins.
    by_width = (width * 0.85) / (0.62 * max(1, len(text)))
    by_height = height * max_fraction
    return max(12, int(min(by_width, by_height)))
