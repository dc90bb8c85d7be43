"""The data a snapshot is drawn from, frozen when it is taken: a RenderRequest
turned into the body of its snapshot_data row, and that body turned back into
the very request. Every copy of a snapshot's render request (the first, and
any the sweeper publishes again) is made from the stored body, so each draws
the same picture from the same numbers, and GET /v1/snapshots/:id/data answers
exactly what was drawn.

The body: `window` (start, end: epoch seconds), `chart_type`, `timezone`,
`units_short`, `big_value` (bignumber, else null), `series` (label, metric,
tags, color, times, values: null for a value JSON cannot hold) and `drawing`,
the rest of the request (title, sizes, options, annotations, thresholds...)."""

from __future__ import annotations

import math
from google.protobuf import json_format

from chartsnap.v1 import render_pb2

# Set on each copy as it is published (queue-wait timing), so never frozen.
_PER_COPY = ("enqueued_at",)


def _storable(value: float) -> float | None:
    return value if math.isfinite(value) else None


def body_of(request: render_pb2.RenderRequest) -> dict:
    drawing = render_pb2.RenderRequest()
    drawing.CopyFrom(request)
    drawing.ClearField("series")
    for name in _PER_COPY:
        drawing.ClearField(name)
    return {
        "window": {"start": request.start, "end": request.end},
        "chart_type": request.chart_type,
        "timezone": request.timezone,
        "units_short": request.y_units_short or request.big_units,
        "big_value": _storable(request.big_value) if request.HasField("big_value") else None,
        "series": [
            {"label": s.label, "metric": s.metric, "tags": dict(s.tags), "color": s.color,
             "times": list(s.times), "values": [_storable(v) for v in s.values]}
            for s in request.series
        ],
        "drawing": json_format.MessageToDict(drawing, preserving_proto_field_name=True),
    }


def request_from(body: dict) -> render_pb2.RenderRequest:
    request = json_format.ParseDict(body["drawing"], render_pb2.RenderRequest())
    for s in body["series"]:
        request.series.add(label=s["label"], metric=s["metric"], tags=s["tags"], color=s["color"],
                           times=s["times"], values=[math.nan if v is None else v for v in s["values"]])
    return request


def points_of(series: dict) -> list[tuple[float, float]]:
    """A frozen series' (time, value) points that have a value."""
    return [(t, v) for t, v in zip(series["times"], series["values"]) if v is not None and math.isfinite(v)]
