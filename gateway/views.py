"""Protobuf replies rendered as the REST API's JSON (hrefs absolute, snapshot
times ISO 8601 UTC with Z, measurement times epoch seconds)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from chartsnap.image_keys import SHARE_PATH
from chartsnap.snapshot_options import DEFAULT_SCALE, DEFAULT_THEME, DEFAULT_TIMEZONE
from chartsnap.v1 import common_pb2, destinations_pb2, measurements_pb2, snapshots_pb2, spaces_pb2


def iso(ts: Timestamp) -> str:
    return datetime.fromtimestamp(ts.seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def query(page: common_pb2.PageInfo) -> dict:
    return {"found": page.found, "length": page.length, "offset": page.offset, "total": page.total}


def snapshot(s: snapshots_pb2.Snapshot, base: str) -> dict:
    return {
        "id": s.id,
        "href": f"{base}/v1/snapshots/{s.id}",
        "job_href": f"{base}/v1/jobs/{s.job_id}",
        "image_href": s.image_url or None,
        # Public, no credentials: the page to send people (chartsnap.image_keys).
        "share_href": f"{base}{SHARE_PATH}{s.share_token}" if s.share_token else None,
        "duration": s.duration,
        "end_time": iso(s.end_time),
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "subject": {"chart": {"id": s.chart_id, "sources": list(s.sources) or ["*"], "type": s.chart_type}},
        # The drawing options it was taken with (an older snapshot reads as the defaults it was drawn with).
        "timezone": s.timezone or DEFAULT_TIMEZONE,
        "scale": s.scale or DEFAULT_SCALE,
        "theme": s.theme or DEFAULT_THEME,
        "annotations": list(s.annotations),
        "summary": s.summary or None,  # null until the data is read
        "data_href": f"{base}/v1/snapshots/{s.id}/data",
    }


def job(j: snapshots_pb2.Job) -> dict:
    out: dict = {"id": j.id, "state": j.state, "progress": round(j.progress, 1)}
    if j.image_url or j.deliveries:
        out["output"] = {
            "image_href": j.image_url or None,
            "services": [
                {"service_id": d.service_id, "type": d.type, "state": d.state, "attempts": d.attempts,
                 "error": d.error or None}
                for d in j.deliveries
            ],
        }
    if j.errors:
        out["errors"] = {"system": list(j.errors)}
    return out


def space(s: spaces_pb2.Space, with_charts: bool = True) -> dict:
    out: dict = {"id": s.id, "name": s.name}
    if with_charts:
        out["charts"] = [{"id": c} for c in s.chart_ids]
    return out


def stream(s: spaces_pb2.Stream) -> dict:
    out: dict = {"id": s.id, "metric": s.metric, "group_function": s.group_function,
                 "summary_function": s.summary_function}
    if s.tags:
        out["tags"] = [
            {"name": t.name, "values": list(t.values), **({"grouped": True} if t.grouped else {}),
             **({"dynamic": True} if t.dynamic else {})}
            for t in s.tags
        ]
    for key in ("source", "color", "name", "units_short", "units_long", "min", "max",
                "transform_function", "period", "downsample_function"):
        if s.HasField(key):
            out[key] = getattr(s, key)
    if "source" not in out and not s.tags:
        out["source"] = "*"
    return out


def chart(c: spaces_pb2.Chart) -> dict:
    out: dict = {
        "id": c.id, "name": c.name, "type": c.type, "streams": [stream(s) for s in c.streams],
        "thresholds": [{"operator": t.operator, "value": t.value, "type": t.type} for t in c.thresholds],
        "use_last_value": c.use_last_value,
    }
    for key in ("min", "max", "label", "related_space"):
        out[key] = getattr(c, key) if c.HasField(key) else None
    return out


def finite_or_none(value: float) -> float | None:
    """JSON has no Infinity or NaN: an aggregate that overflowed the float
    range (e.g. the sum of two 1.7e308 series) is reported as null."""
    return value if math.isfinite(value) else None


def measurements(reply: measurements_pb2.QueryMeasurementsResponse) -> dict:
    return {
        "name": reply.name,
        "resolution": reply.resolution,
        "series": [
            {"tags": dict(s.tags),
             "measurements": [{"time": p.time, "value": finite_or_none(p.value)} for p in s.measurements]}
            for s in reply.series
        ],
        "links": [],
    }


def destination(d: destinations_pb2.Destination) -> dict:
    return {"id": d.id, "title": d.title, "type": d.type, "settings": dict(d.settings)}
