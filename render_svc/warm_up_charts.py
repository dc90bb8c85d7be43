"""The charts a new browser draws before it serves (render_svc.warm_renderer).

The first embed in a fresh page pays for JIT compilation and font loading
(~200-300 ms); a line chart and a stacked chart with a legend, a title and
axis labels take that cost before a user's request can.
"""

from __future__ import annotations

import math

from render_svc.chart_spec import ChartSpec, SeriesSpec

_POINTS = 60
_SERIES = 3
_END_S = 1714575900.0   # any fixed instant: warm-up images are never looked at
_WINDOW_S = 3600.0


def warm_up_specs() -> tuple[ChartSpec, ...]:
    start = _END_S - _WINDOW_S
    times = tuple(start + i * _WINDOW_S / _POINTS for i in range(_POINTS))
    series = tuple(
        SeriesSpec(label=f"warm-up {n}", color=None, times=times,
                   values=tuple(100.0 * (n + 1) + 20.0 * math.sin(i / 7.0 + n) for i in range(_POINTS)))
        for n in range(_SERIES))
    return tuple(ChartSpec(title="warm-up", chart_type=chart_type, start=start, end=_END_S, series=series,
                           y_label="units")
                 for chart_type in ("line", "stacked"))
