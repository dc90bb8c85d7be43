"""Build the bokeh figure for a ChartSpec.

Both render paths (the warm browser session and bokeh's stock export) draw
exactly the object returned by :func:`build_figure`, so whatever looks right
here looks the same in production and in the reference renderer.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from bokeh.models import (
    BasicTickFormatter,
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    GlyphRenderer,
    Label,
    LayoutDOM,
    Legend,
    LegendItem,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from render_svc import figure_style as style
from render_svc.chart_spec import ChartSpec, SeriesSpec, Threshold
from render_svc.number_format import format_compact

logger = logging.getLogger(__name__)

CHART_TYPES = ("line", "stacked", "bignumber")
NO_DATA_TEXT = "No data"

# Used when the caller gave no window and there is no data to derive one from,
# so that the time axis still shows something sensible.
_FALLBACK_WINDOW_S = 3600.0

# Legend sizing estimates (px). Bokeh lays the legend out in the browser, so we
# estimate text widths here to decide rows/columns before serialising.
_LEGEND_ROW_HEIGHT = 18
_LEGEND_CHAR_WIDTH = 6.2        # average advance of an 11px sans label
_LEGEND_GLYPH_WIDTH = 16
_LEGEND_LABEL_STANDOFF = 6
_LEGEND_SPACING = 4
_LEGEND_PADDING = 4
_LEGEND_MARGIN = 8
_LEGEND_COLUMN_GAP = 14
_LEGEND_LEFT_OFFSET = 56        # the legend starts under the plot frame, right of the y axis
_LEGEND_MAX_LABEL_CHARS = 40


def build_figure(spec: ChartSpec) -> LayoutDOM:
    """Return a fixed-size, toolbar-free bokeh figure for ``spec``."""
    if spec.chart_type not in CHART_TYPES:
        raise ValueError(f"unknown chart_type {spec.chart_type!r}; expected one of {CHART_TYPES}")
    if spec.width <= 0 or spec.height <= 0:
        raise ValueError(f"chart size must be positive, got {spec.width}x{spec.height}")
    for s in spec.series:
        if len(s.times) != len(s.values):
            raise ValueError(f"series {s.label!r} has {len(s.times)} times but {len(s.values)} values")
    if spec.chart_type == "bignumber":
        return _big_number_figure(spec)
    return _timeseries_figure(spec)


# --------------------------------------------------------------------------
# Time series (line / stacked)
# --------------------------------------------------------------------------


def has_data(spec: ChartSpec) -> bool:
    """True when there is at least one point (or a big-number value) to draw."""
    if spec.chart_type == "bignumber":
        return spec.big_value is not None and not math.isnan(spec.big_value)
    return any(len(s.times) > 0 for s in spec.series)


def _timeseries_figure(spec: ChartSpec) -> LayoutDOM:
    start_s, end_s = _time_window(spec)
    fig = _base_figure(spec, x_range=Range1d(start_s * 1000.0, end_s * 1000.0))
    fig.xaxis.axis_label = _window_caption(start_s, end_s)
    fig.xaxis.formatter = _time_tick_formatter(end_s - start_s)

    if not has_data(spec):
        _draw_no_data(fig, start_s, end_s)
        return fig

    colors = _series_colors(spec.series)
    if spec.chart_type == "stacked":
        renderers, all_values = _draw_stacked(fig, spec.series, colors)
    else:
        renderers, all_values = _draw_lines(fig, spec.series, colors)

    fig.y_range = _y_range(spec, all_values)
    fig.yaxis.formatter = _value_tick_formatter(all_values)
    fig.yaxis.axis_label = spec.y_label or None
    _add_legend(fig, spec, renderers)
    return fig


def _base_figure(spec: ChartSpec, **kwargs: object) -> figure:
    fig = figure(
        width=spec.width,
        height=spec.height,
        title=spec.title,
        x_axis_type="datetime",
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        background_fill_color=style.BACKGROUND,
        border_fill_color=style.BACKGROUND,
        outline_line_color=None,
        min_border_left=12,
        min_border_right=20,
        min_border_top=8,
        min_border_bottom=8,
        **kwargs,
    )
    # No interaction in a static image; also avoids the logo/toolbar DOM.
    fig.toolbar.logo = None

    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = style.TITLE_COLOR
    fig.title.offset = 4

    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_line_color = style.AXIS_COLOR
        axis.major_tick_line_color = style.AXIS_COLOR
        axis.minor_tick_line_color = None
        axis.major_tick_out = 4
        axis.major_tick_in = 0
        axis.major_label_text_font = style.FONT
        axis.major_label_text_font_size = style.TICK_FONT_SIZE
        axis.major_label_text_color = style.TEXT_COLOR
        axis.axis_label_text_font = style.FONT
        axis.axis_label_text_font_size = style.AXIS_LABEL_FONT_SIZE
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_color = style.MUTED_TEXT_COLOR

    fig.xgrid.grid_line_color = style.GRID_COLOR
    fig.ygrid.grid_line_color = style.GRID_COLOR
    return fig


def _time_window(spec: ChartSpec) -> tuple[float, float]:
    """The x range in epoch seconds: the requested window, else the data extent."""
    if spec.end > spec.start:
        return spec.start, spec.end
    times = [t for s in spec.series for t in s.times]
    if times and max(times) > min(times):
        return min(times), max(times)
    anchor = times[0] if times else spec.start
    return anchor - _FALLBACK_WINDOW_S, anchor


def _window_caption(start_s: float, end_s: float) -> str:
    start = datetime.fromtimestamp(start_s, tz=timezone.utc)
    end = datetime.fromtimestamp(end_s, tz=timezone.utc)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M} – {end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def _time_tick_formatter(span_s: float) -> DatetimeTickFormatter:
    # BokehJS formats datetimes in UTC, which is what we want. Within a day the
    # date is already in the axis caption, so ticks only need the clock time.
    multi_day = span_s > 86400
    hours = "%b %d %H:%M" if multi_day else "%H:%M"
    return DatetimeTickFormatter(
        milliseconds="%H:%M:%S.%3N",
        seconds="%H:%M:%S",
        minsec="%H:%M:%S",
        minutes="%H:%M",
        hourmin=hours,
        hours=hours,
        days="%b %d",
        months="%b %Y",
        years="%Y",
    )


def _value_tick_formatter(values: np.ndarray) -> BasicTickFormatter | NumeralTickFormatter:
    finite = values[np.isfinite(values)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if largest >= 10_000:
        # "12.5k" reads faster than "12500" or "1.25e+4".
        return NumeralTickFormatter(format="0.[0]a")
    return BasicTickFormatter(use_scientific=largest != 0 and largest < 1e-3)


def _y_range(spec: ChartSpec, values: np.ndarray) -> Range1d | DataRange1d:
    y_min, y_max = spec.y_min, spec.y_max
    if y_min is not None and y_max is not None:
        if y_max > y_min:
            return Range1d(y_min, y_max)
        logger.warning("ignoring y range [%s, %s] of %r: max must exceed min", y_min, y_max, spec.title)
        y_min = y_max = None
    y_range = DataRange1d(range_padding=0.08)
    finite = values[np.isfinite(values)]
    if y_min is not None:
        y_range.start = y_min
    elif spec.chart_type == "stacked" and finite.size and float(finite.min()) >= 0:
        # Stacks are read from zero; padding below zero only wastes space.
        y_range.start = 0
    if y_max is not None:
        y_range.end = y_max
    return y_range


def _series_colors(series: tuple[SeriesSpec, ...]) -> list[str]:
    palette = style.series_palette(len(series))
    return [s.color or palette[i] for i, s in enumerate(series)]


def _draw_lines(
    fig: figure, series: tuple[SeriesSpec, ...], colors: list[str]
) -> tuple[list[GlyphRenderer], np.ndarray]:
    renderers: list[GlyphRenderer] = []
    chunks: list[np.ndarray] = []
    for s, color in zip(series, colors):
        times_ms = np.asarray(s.times, dtype=float) * 1000.0
        values = np.asarray(s.values, dtype=float)
        source = ColumnDataSource(data={"t": times_ms, "v": values})
        renderer = fig.line("t", "v", source=source, line_color=color,
                            line_width=style.LINE_WIDTH, line_join="round")
        if len(times_ms) < 3:
            # A one- or two-point series would be invisible (or a bare segment) as a line.
            fig.scatter("t", "v", source=source, size=6, fill_color=color, line_color=color)
        renderers.append(renderer)
        chunks.append(values)
    return renderers, np.concatenate(chunks) if chunks else np.array([])


def _draw_stacked(
    fig: figure, series: tuple[SeriesSpec, ...], colors: list[str]
) -> tuple[list[GlyphRenderer], np.ndarray]:
    times_s, columns = align_series(series)
    data: dict[str, np.ndarray] = {"t": times_s * 1000.0}
    names = [f"s{i}" for i in range(len(series))]
    tops = np.cumsum(columns, axis=0)
    for i, (name, column) in enumerate(zip(names, columns)):
        data[name] = column
        data[f"top{i}"] = tops[i]
    source = ColumnDataSource(data=data)

    areas = fig.varea_stack(stackers=names, x="t", source=source, color=colors,
                            fill_alpha=style.STACK_FILL_ALPHA)
    # A crisp edge on each band keeps thin bands visible and the image sharp.
    for i, color in enumerate(colors):
        fig.line("t", f"top{i}", source=source, line_color=color, line_width=1.25)

    totals = np.sum(columns, axis=0) if columns else np.array([])
    return list(areas), np.concatenate([totals, np.zeros(1)])


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


def _draw_no_data(fig: figure, start_s: float, end_s: float) -> None:
    # Keep the time axis (it tells the reader which window was empty) but drop
    # the value axis: any numbers there would be invented.
    fig.y_range = Range1d(0, 1)
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    fig.add_layout(Label(
        x=(start_s + end_s) * 500.0, y=0.5, text=NO_DATA_TEXT,
        text_align="center", text_baseline="middle",
        text_font=style.FONT, text_font_size="22px", text_color=style.NO_DATA_COLOR,
    ))


# --------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------


def _add_legend(fig: figure, spec: ChartSpec, renderers: list[GlyphRenderer]) -> None:
    labels = [_short_label(s.label) for s in spec.series]
    plan = plan_legend(labels, spec.width, spec.height)
    items = [LegendItem(label=label, renderers=[r]) for label, r in zip(labels[: plan.shown], renderers)]
    hidden = len(labels) - plan.shown
    if hidden > 0:
        # Bokeh needs a renderer per legend item; an empty, invisible-glyph
        # renderer gives us a text-only "+N more" entry.
        placeholder = fig.scatter(x=[], y=[], size=0, fill_alpha=0, line_alpha=0)
        items.append(LegendItem(label=f"+{hidden} more", renderers=[placeholder]))
    legend = Legend(
        items=items,
        orientation="horizontal",
        ncols=plan.columns,
        location="left",
        label_text_font=style.FONT,
        label_text_font_size=style.LEGEND_FONT_SIZE,
        label_text_color=style.TEXT_COLOR,
        label_height=_LEGEND_ROW_HEIGHT - _LEGEND_SPACING,
        # Bokeh sizes grid columns to the widest label; the extra minimum width
        # is the gap between columns (`spacing` applies between rows too).
        label_width=plan.label_width,
        glyph_height=_LEGEND_ROW_HEIGHT - _LEGEND_SPACING,
        glyph_width=_LEGEND_GLYPH_WIDTH,
        label_standoff=_LEGEND_LABEL_STANDOFF,
        spacing=_LEGEND_SPACING,
        padding=_LEGEND_PADDING,
        margin=_LEGEND_MARGIN,
        border_line_color=None,
        background_fill_alpha=0,
    )
    fig.add_layout(legend, "below")


def _short_label(label: str) -> str:
    label = label or "(unnamed)"
    if len(label) <= _LEGEND_MAX_LABEL_CHARS:
        return label
    return label[: _LEGEND_MAX_LABEL_CHARS - 1] + "…"


@dataclass(frozen=True)
class LegendPlan:
    columns: int
    shown: int         # series entries shown; the rest collapse into "+N more"
    label_width: int   # px reserved per label (widest label + column gap)


def plan_legend(labels: list[str], width: int, height: int) -> LegendPlan:
    """Decide the legend grid under the plot.

    The legend may take at most about a fifth of the image height; when the
    entries do not fit, the tail is replaced by a "+N more" entry so the chart
    itself keeps most of the space.
    """
    if not labels:
        return LegendPlan(columns=1, shown=0, label_width=0)
    label_width = int(max(len(label) for label in labels) * _LEGEND_CHAR_WIDTH) + _LEGEND_COLUMN_GAP
    item_width = _LEGEND_GLYPH_WIDTH + _LEGEND_LABEL_STANDOFF + label_width + _LEGEND_SPACING
    usable_width = width - _LEGEND_LEFT_OFFSET - 2 * (_LEGEND_MARGIN + _LEGEND_PADDING)
    columns = max(1, min(len(labels), int(usable_width // item_width)))
    max_rows = max(1, min(4, int(height * 0.2) // _LEGEND_ROW_HEIGHT))
    capacity = columns * max_rows
    shown = len(labels) if len(labels) <= capacity else capacity - 1
    return LegendPlan(columns=columns, shown=shown, label_width=label_width)


# --------------------------------------------------------------------------
# Big number
# --------------------------------------------------------------------------


def threshold_color(value: float, thresholds: tuple[Threshold, ...]) -> str:
    """Colour for a big-number value: red beats yellow beats the neutral default."""
    matched = {t.kind for t in thresholds if _threshold_matches(value, t)}
    for kind in ("red", "yellow"):
        if kind in matched:
            return style.THRESHOLD_COLORS[kind]
    return style.BIG_NUMBER_NEUTRAL


def _threshold_matches(value: float, threshold: Threshold) -> bool:
    if threshold.operator == ">":
        return value > threshold.value
    if threshold.operator == "<":
        return value < threshold.value
    if threshold.operator == "=":
        return math.isclose(value, threshold.value, rel_tol=1e-9, abs_tol=1e-12)
    logger.warning("ignoring threshold with unknown operator %r", threshold.operator)
    return False


def _big_number_figure(spec: ChartSpec) -> LayoutDOM:
    fig = figure(
        width=spec.width,
        height=spec.height,
        title=spec.title,
        tools="",
        toolbar_location=None,
        sizing_mode="fixed",
        x_range=Range1d(0, 1),
        y_range=Range1d(0, 1),
        background_fill_color=style.BACKGROUND,
        border_fill_color=style.BACKGROUND,
        outline_line_color=None,
        min_border=8,
    )
    fig.toolbar.logo = None
    fig.axis.visible = False
    fig.grid.visible = False
    fig.title.text_font = style.FONT
    fig.title.text_font_size = style.TITLE_FONT_SIZE
    fig.title.text_font_style = "bold"
    fig.title.text_color = style.TITLE_COLOR
    fig.title.align = "center"

    plot_height = spec.height - 40  # roughly what is left under the title
    if not has_data(spec):
        # Deliberately quieter than a value: grey, regular weight, smaller.
        text, color, units, weight = NO_DATA_TEXT, style.NO_DATA_COLOR, "", "normal"
        font_px = _fit_font_px(text, spec.width, plot_height, max_fraction=0.14)
    else:
        assert spec.big_value is not None
        text = format_compact(spec.big_value)
        color = threshold_color(spec.big_value, spec.thresholds)
        units, weight = spec.big_units, "bold"
        font_px = _fit_font_px(text, spec.width, plot_height, max_fraction=0.42)

    value_y = 0.55 if units else 0.5
    fig.add_layout(Label(
        x=0.5, y=value_y, text=text, text_align="center", text_baseline="middle",
        text_font=style.FONT, text_font_style=weight, text_font_size=f"{font_px}px",
        text_color=color, name="big_value",
    ))
    if units:
        units_px = max(12, min(int(font_px * 0.3), 28))
        fig.add_layout(Label(
            x=0.5, y=value_y, y_offset=-(font_px * 0.5 + units_px * 0.9),
            text=units, text_align="center", text_baseline="middle",
            text_font=style.FONT, text_font_size=f"{units_px}px",
            text_color=style.MUTED_TEXT_COLOR, name="big_units",
        ))
    if spec.end > spec.start:
        fig.add_layout(Label(
            x=0.5, y=0.02, text=_window_caption(spec.start, spec.end),
            text_align="center", text_baseline="bottom",
            text_font=style.FONT, text_font_size=style.AXIS_LABEL_FONT_SIZE,
            text_color=style.MUTED_TEXT_COLOR, name="window",
        ))
    return fig


def _fit_font_px(text: str, width: int, height: int, max_fraction: float) -> int:
    # Bold sans digits are ~0.6em wide; leave 15% side margins.
    by_width = (width * 0.85) / (0.62 * max(1, len(text)))
    by_height = height * max_fraction
    return max(12, int(min(by_width, by_height)))
