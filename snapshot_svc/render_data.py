"""What a render needs, read once when the snapshot is taken: the chart's
streams resolved to series over the window, bucketed to about one point per
two pixel columns (resolution_for), plus the bignumber summary. The result travels in the
RenderRequest, so the render service needs no database."""

from __future__ import annotations

import math

from chartsnap.v1 import render_pb2
from snapshot_svc.measurements import MeasurementStore, combine, summarise

MAX_SERIES_PER_CHART = 40


def resolution_for(duration: int, width: int) -> int:
    """Bucket size: at most about one point per two pixels, never under a second."""
    return max(1, math.ceil(duration / max(50, width // 2)))


def _filters(stream: dict, narrowing: dict) -> list[tuple[str, list[str]]]:
    filters = [
        (t["name"], t["values"]) for t in stream.get("tags", []) if t.get("values") and not t.get("dynamic")
    ]
    source = stream.get("source")
    if source and source != "*":
        filters.append(("source", [source]))
    filters += [(t["name"], t["values"]) for t in narrowing.get("tags") or [] if t.get("values")]
    if narrowing.get("source") and narrowing["source"] != "*":
        filters.append(("source", [narrowing["source"]]))
    return filters


def _label(stream: dict, tags: dict[str, str] | None) -> str:
    if tags:
        return ", ".join(tags[k] for k in sorted(tags)) or stream["metric"]
    return stream.get("name") or stream["metric"]


def build_render_request(
    store: MeasurementStore, chart: dict, snapshot: dict, now: float
) -> render_pb2.RenderRequest:
    end = int(snapshot["end_time"])
    start = end - int(snapshot["duration"])
    resolution = resolution_for(snapshot["duration"], snapshot["width"])
    chart_type = snapshot["chart_type"]
    request = render_pb2.RenderRequest(
        snapshot_id=snapshot["id"], job_id=snapshot["job_id"], image_key=snapshot["assigned_image_key"],
        title=chart.get("name", ""), chart_type=chart_type, width=snapshot["width"],
        height=snapshot["height"], start=start, end=end, enqueued_at=now,
    )
    units = ""
    y_label = chart.get("label") or ""
    for stream in chart.get("streams", []):
        if not stream.get("metric"):
            continue
        matched = store.matching_series(snapshot["account_id"], stream["metric"], _filters(stream, snapshot["narrowing"]))
        data = store.bucketed([sid for sid, _ in matched], start, end, resolution, stream.get("summary_function", "average"))
        breakout = stream.get("group_function") == "breakout" and not any(
            t.get("dynamic") for t in stream.get("tags", [])
        )
        if breakout:
            drawn = [(_label(stream, tags), data.get(sid, [])) for sid, tags in matched]
        else:
            # One aggregated line per stream (and per metric for dynamic tags).
            group = stream.get("group_function") or "average"
            combined = combine([data.get(sid, []) for sid, _ in matched], "average" if group == "breakout" else group)
            drawn = [(_label(stream, None), combined)]
        for label, pts in drawn:
            if len(request.series) >= MAX_SERIES_PER_CHART:
                break
            color = stream.get("color", "") if len(drawn) == 1 else ""
            request.series.add(label=label, color=color or "", times=[float(t) for t, _ in pts],
                               values=[v for _, v in pts])
        units = units or stream.get("units_short") or ""
        y_label = y_label or stream.get("units_long") or ""
    request.y_label = y_label
    if chart.get("min") is not None:
        request.y_min = chart["min"]
    if chart.get("max") is not None:
        request.y_max = chart["max"]
    if chart_type == "bignumber":
        first = request.series[0].values if request.series else []
        streams = chart.get("streams") or [{}]
        if chart.get("use_last_value"):
            value = first[-1] if first else None
        else:
            function = streams[0].get("summary_function", "average")
            # Buckets already hold per-bucket counts (and sums), so the window's
            # count is their sum, not the number of buckets.
            value = summarise(list(first), "sum" if function == "count" else function)
        if value is not None:
            request.big_value = value
        request.big_units = units
        for t in chart.get("thresholds", []):
            request.thresholds.add(operator=t["operator"], value=t["value"], type=t["type"])
    return request
