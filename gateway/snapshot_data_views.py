"""GET /v1/snapshots/{id}/data: the data a snapshot's image was drawn from,
frozen when it was taken (one GetSnapshotData call, the account's own
snapshots only), as JSON or, with `Accept: text/csv`, as CSV.

Content negotiation follows RFC 9110: the media ranges of Accept with their
q-values, the most specific range deciding each type's weight; JSON wins a
tie, and a request without Accept (or with none we can read) gets JSON. An
Accept that neither type satisfies is a 406 in the contract's error shape,
answered after the call, so that wrong credentials are still a 401 and
another account's snapshot still a 404.

CSV cells are text a spreadsheet may read as a formula: a label, metric or
tag that starts with = + - @ (or a tab or carriage return) is prefixed with
a single quote (OWASP's CSV injection advice)."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from chartsnap.v1 import snapshots_pb2
from gateway import views
from gateway.responses import json_response, request_error

JSON, CSV = "application/json", "text/csv"
OFFERED = (JSON, CSV)  # in order of preference
MAX_ACCEPT_RANGES = 50  # past these, a header's ranges are not read (no client sends more)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("time", "series", "metric", "tags", "value")


def _weight(params: list[str]) -> float | None:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 and math.isfinite(q) else None
    return 1.0


def media_ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each readable range; unreadable ones are left out."""
    ranges = []
    for part in accept.split(",")[:MAX_ACCEPT_RANGES]:
        media, *params = part.split(";")
        kind, slash, sub = media.strip().lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        q = _weight(params)
        if q is not None:
            ranges.append((kind, sub, q))
    return ranges


def negotiate(accept: str | None) -> str | None:
    """The type to answer with, or None when Accept allows neither."""
    ranges = media_ranges(accept) if accept and accept.strip() else []
    if not ranges:
        return JSON
    best, best_q = None, 0.0
    for offered in OFFERED:
        kind, sub = offered.split("/")
        # The most specific matching range decides (type/sub beats type/* beats */*).
        matches = [(2 if (k, s) == (kind, sub) else 1 if (k, s) == (kind, "*") else 0, q)
                   for k, s, q in ranges if (k, s) in ((kind, sub), (kind, "*"), ("*", "*"))]
        if not matches:
            continue
        q = max(matches)[1]
        if q > best_q:
            best, best_q = offered, q
    return best


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def data_json(data: snapshots_pb2.SnapshotData, base: str) -> dict:
    out: dict[str, Any] = {
        "id": data.snapshot_id,
        "href": f"{base}/v1/snapshots/{data.snapshot_id}/data",
        "snapshot_href": f"{base}/v1/snapshots/{data.snapshot_id}",
        "chart_type": data.chart_type,
        "start_time": _iso(data.start),
        "end_time": _iso(data.end),
        "duration": int(data.end - data.start),
        "resolution": data.resolution,
        "timezone": data.timezone or "UTC",
        "units_short": data.units_short or None,
        "taken_at": views.iso(data.taken_at),
        "summary": data.summary or None,
        "png_sha256": data.png_sha256 or None,
        # Point times in epoch seconds, as GET /v1/measurements answers them.
        "series": [
            {"label": s.label, "metric": s.metric, "tags": dict(s.tags),
             "measurements": [{"time": int(t), "value": views.finite_or_none(v)} for t, v in zip(s.times, s.values)]}
            for s in data.series
        ],
    }
    if data.HasField("big_value"):
        out["big_value"] = views.finite_or_none(data.big_value)
    return out


def safe_cell(text: str) -> str:
    """A text cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def data_csv(data: snapshots_pb2.SnapshotData) -> str:
    """One row per point: its time (ISO 8601 UTC), the series' label, metric
    and tags (k=v, sorted, joined by ;), and the value (empty when none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in data.series:
        tags = ";".join(f"{k}={v}" for k, v in sorted(s.tags.items()))
        label, metric, tags = safe_cell(s.label), safe_cell(s.metric), safe_cell(tags)
        for t, v in zip(s.times, s.values):
            writer.writerow((_iso(t), label, metric, tags, repr(v) if math.isfinite(v) else ""))
    return buffer.getvalue()


class SnapshotDataViews:
    def __init__(self, gateway: Any) -> None:  # gateway.app.Gateway (its call options, stubs, base URL)
        self.gateway = gateway

    async def get_data(self, request: web.Request) -> web.Response:
        gw = self.gateway
        opts = gw.call_options(request)
        snapshot_id = gw.path_id(request, "id", "snapshot")
        data = await gw.rpc.snapshots.GetSnapshotData(snapshots_pb2.GetSnapshotDataRequest(id=snapshot_id), **opts)
        answer = negotiate(request.headers.get("Accept"))
        headers = {"Vary": "Accept"}
        if answer is None:
            return request_error(406, f"Not acceptable: this resource is {JSON} or {CSV}", headers=headers)
        if answer == CSV:
            headers["Content-Disposition"] = f'attachment; filename="snapshot-{snapshot_id}.csv"'
            return web.Response(text=data_csv(data), content_type=CSV, charset="utf-8", headers=headers)
        return json_response(data_json(data, gw.base), headers=headers)


def snapshot_data_routes(gateway: Any) -> list[web.RouteDef]:
    """The data route, for gateway.app to add (GET, and HEAD with it)."""
    views_ = SnapshotDataViews(gateway)
    return [web.get("/v1/snapshots/{id}/data", views_.get_data)]
