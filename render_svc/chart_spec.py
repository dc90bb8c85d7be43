"""Domain input for drawing a chart snapshot.

These are plain frozen dataclasses so that the code which talks to the
metrics store (and the wire protocol) can build them without importing
bokeh, and so that rendering code can treat them as immutable values.
"""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.charts import DEFAULT_HEIGHT, DEFAULT_WIDTH


@dataclass(frozen=True)
class SeriesSpec:
    label: str                 # legend text (tag values like "prod, web-1", or the stream name/metric)
    color: str | None          # "#RRGGBB" or None (then use a palette)
    times: tuple[float, ...]   # epoch seconds, ascending
    values: tuple[float, ...]


@dataclass(frozen=True)
class Threshold:
    operator: str   # ">", "<", "="
    value: float
    kind: str       # "red" | "yellow"


@dataclass(frozen=True)
class Annotation:
    """An annotation event to mark on a line or stacked chart."""

    title: str
    start: float               # epoch seconds
    end: float | None = None   # epoch seconds; a span when set
    stream: str = ""           # its annotation stream's name
    source: str = ""


@dataclass(frozen=True)
class ChartSpec:
    title: str
    chart_type: str            # "line" | "stacked" | "bignumber"
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    start: float = 0.0         # epoch seconds, window start
    end: float = 0.0           # epoch seconds, window end
    series: tuple[SeriesSpec, ...] = ()
    y_label: str = ""          # chart label / units
    y_min: float | None = None
    y_max: float | None = None
    big_value: float | None = None   # bignumber: the summarised value (None = no data)
    big_units: str = ""
    thresholds: tuple[Threshold, ...] = ()
    y_units_short: str = ""    # suffix of the y axis' tick labels ("ms", "%")
    annotations: tuple[Annotation, ...] = ()
    timezone: str = "UTC"      # IANA name the axis and caption are in (resolved: render_svc.render_options)
    theme: str = "light"       # a name in render_svc.figure_style.THEMES
