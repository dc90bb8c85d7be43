"""RenderRequest (wire) → ChartSpec (what the drawing code takes) and the capture scale."""

from __future__ import annotations

from chartsnap.charts import DEFAULT_HEIGHT, DEFAULT_WIDTH
from chartsnap.v1 import render_pb2
from render_svc.chart_spec import Annotation, ChartSpec, SeriesSpec, Threshold
from render_svc.render_options import bounded_scale, resolve_scale, resolve_theme, resolve_timezone


def spec_from_request(req: render_pb2.RenderRequest) -> ChartSpec:
    return ChartSpec(
        title=req.title,
        chart_type=req.chart_type,
        width=req.width or DEFAULT_WIDTH,
        height=req.height or DEFAULT_HEIGHT,
        start=req.start,
        end=req.end,
        series=tuple(
            SeriesSpec(label=s.label, color=s.color or None, times=tuple(s.times), values=tuple(s.values))
            for s in req.series
        ),
        y_label=req.y_label,
        y_min=req.y_min if req.HasField("y_min") else None,
        y_max=req.y_max if req.HasField("y_max") else None,
        big_value=req.big_value if req.HasField("big_value") else None,
        big_units=req.big_units,
        thresholds=tuple(Threshold(t.operator, t.value, t.type) for t in req.thresholds),
        y_units_short=req.y_units_short,
        annotations=tuple(
            Annotation(title=a.title, start=a.start, end=a.end if a.HasField("end") else None,
                       stream=a.stream, source=a.source)
            for a in req.annotations
        ),
        timezone=resolve_timezone(req.timezone),
        theme=resolve_theme(req.theme),
    )


def capture_scale(req: render_pb2.RenderRequest) -> float:
    """Device pixels per CSS pixel of the PNG (render_svc.render_options: resolve_scale, bounded_scale)."""
    return bounded_scale(resolve_scale(req.scale), req.width or DEFAULT_WIDTH, req.height or DEFAULT_HEIGHT)
