"""Deterministic example ChartSpecs for the benchmark, tests and visual checks."""

from __future__ import annotations

import math

from chartsnap.charts import DEFAULT_HEIGHT, DEFAULT_WIDTH
from render_svc.chart_spec import ChartSpec, SeriesSpec, Threshold

# 2024-05-01 15:05:00 UTC: a fixed instant so images are reproducible.
SAMPLE_END = 1714575900.0
SAMPLE_COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C")


def _wave(points: int, start: float, step: float, base: float, amplitude: float,
          phase: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    times = tuple(start + i * step for i in range(points))
    values = tuple(
        base + amplitude * math.sin(i / 17.0 + phase) + 0.35 * amplitude * math.sin(i / 3.1 + 2 * phase)
        for i in range(points)
    )
    return times, values


def line_chart(points: int = 300, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
               colors: tuple[str | None, ...] = SAMPLE_COLORS) -> ChartSpec:
    """Three latency-like lines over one hour."""
    start = SAMPLE_END - 3600
    step = 3600 / points
    labels = ("prod, web-1", "prod, web-2", "prod, web-3")
    series = []
    for i, (label, color) in enumerate(zip(labels, colors)):
        times, values = _wave(points, start, step, base=120 + 40 * i, amplitude=25 + 5 * i, phase=i)
        series.append(SeriesSpec(label=label, color=color, times=times, values=values))
    return ChartSpec(title="API latency p95", chart_type="line", width=width, height=height,
                     start=start, end=SAMPLE_END, series=tuple(series), y_label="ms")


def stacked_chart(points: int = 120, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
                  colors: tuple[str | None, ...] = SAMPLE_COLORS) -> ChartSpec:
    """Three request-rate bands; the last series only starts a quarter into the
    window, so stacking has to fill its missing samples with zeros."""
    start = SAMPLE_END - 3600
    step = 3600 / points
    labels = ("GET", "POST", "DELETE")
    series = []
    for i, (label, color) in enumerate(zip(labels, colors)):
        times, values = _wave(points, start, step, base=900 - 300 * i, amplitude=120 - 30 * i, phase=i)
        if i == 2:
            times, values = times[points // 4:], values[points // 4:]
        series.append(SeriesSpec(label=label, color=color, times=times, values=values))
    return ChartSpec(title="Requests per second by method", chart_type="stacked", width=width,
                     height=height, start=start, end=SAMPLE_END, series=tuple(series), y_label="req/s")


def big_number_chart(value: float | None = 1234.5, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
                     thresholds: tuple[Threshold, ...] = ()) -> ChartSpec:
    return ChartSpec(title="Active connections", chart_type="bignumber", width=width, height=height,
                     start=SAMPLE_END - 3600, end=SAMPLE_END, big_value=value, big_units="conn",
                     thresholds=thresholds)


def empty_chart(chart_type: str = "line") -> ChartSpec:
    return ChartSpec(title="Disk errors", chart_type=chart_type, start=SAMPLE_END - 3600,
                     end=SAMPLE_END, series=(SeriesSpec("prod", None, (), ()),))


def many_series_chart(count: int = 24, points: int = 60) -> ChartSpec:
    start = SAMPLE_END - 3600
    step = 3600 / points
    series = tuple(
        SeriesSpec(label=f"prod, web-{i + 1}", color=None,
                   times=_wave(points, start, step, 50 + 5 * i, 10, i)[0],
                   values=_wave(points, start, step, 50 + 5 * i, 10, i)[1])
        for i in range(count)
    )
    return ChartSpec(title="CPU by host", chart_type="line", start=start, end=SAMPLE_END,
                     series=series, y_label="%")
