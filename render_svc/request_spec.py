"""RenderRequest (wire) → ChartSpec (what the drawing code takes)."""

from __future__ import annotations

from chartsnap.charts import DEFAULT_HEIGHT, DEFAULT_WIDTH
from chartsnap.v1 import render_pb2
from render_svc.chart_spec import ChartSpec, SeriesSpec, Threshold


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
    )
