"""Metric metadata over REST: GET /v1/metrics (a page of them, `name`
filter), GET /v1/metrics/{name} (one; with a time window, also its legacy
measurements keyed by source, as the source-based API answered) and
PUT /v1/metrics/{name} (update, or create with `type`). POST /v1/metrics,
the legacy submit, stays in gateway.app."""

from __future__ import annotations

import json
from typing import Any, Mapping

import grpc
from aiohttp import web

from chartsnap import errors
from chartsnap.errors import ParamErrors
from chartsnap.v1 import measurements_pb2
from gateway import coerce, translate, views
from gateway.responses import json_response

METRIC_FIELDS = ("display_name", "description", "period", "type")
# The legacy read's parameters: any of them asks for measurements too.
WINDOW_PARAMS = ("start_time", "end_time", "duration", "count", "resolution")
DEFAULT_LEGACY_RESOLUTION = 60
MAX_COUNT = 100_000


def metric(m: measurements_pb2.Metric) -> dict:
    return {
        "name": m.name,
        "display_name": m.display_name if m.HasField("display_name") else None,
        "type": m.type,
        "description": m.description if m.HasField("description") else None,
        "period": m.period if m.HasField("period") else None,
        "attributes": json.loads(m.attributes_json or "{}"),
    }


def update_request(name: str, body: dict) -> measurements_pb2.UpdateMetricRequest:
    """PUT /v1/metrics/:name's body (JSON, or a form with attributes[key]=value)."""
    problems = ParamErrors()
    request = measurements_pb2.UpdateMetricRequest(name=name)
    for key in METRIC_FIELDS:
        if key not in body:
            continue
        if body[key] is None:
            request.cleared.append(key)
        elif key == "period":
            translate._collect(problems, lambda: setattr(request, "period", coerce.int32(body["period"], "period")))
        else:
            translate._collect(problems, lambda key=key: setattr(request, key, coerce.text(body[key], key, 10_000)))
    if body.get("attributes") is not None:
        translate._collect(problems, lambda: setattr(request, "attributes_json",
                                                     translate.attributes_json(body["attributes"], "attributes")))
    problems.raise_if_any()
    return request


def legacy_query(name: str, params: Mapping[str, str]) -> measurements_pb2.QueryMeasurementsRequest | None:
    """The source-based read (GET /v1/metrics/:name?count=5&resolution=60,
    or start_time/end_time/duration, and `source` a pattern) as a query of
    the metric's legacy series; None without any window parameter."""
    if not any(params.get(k) for k in WINDOW_PARAMS):
        return None
    query = dict(params)
    if params.get("count") and not params.get("start_time") and not params.get("duration"):
        count = coerce.integer(params["count"], "count")
        if not 1 <= count <= MAX_COUNT:
            raise errors.InvalidParams.one("count", f"must be from 1 to {MAX_COUNT}")
        resolution = coerce.integer(params.get("resolution") or DEFAULT_LEGACY_RESOLUTION, "resolution")
        if resolution < 1:
            raise errors.InvalidParams.one("resolution", "must be a positive number of seconds")
        query["duration"] = str(count * resolution)
        query["resolution"] = str(resolution)
    elif not params.get("start_time") and not params.get("duration"):
        raise errors.InvalidParams.one("start_time", "start_time, duration or count is required")
    if params.get("source"):
        query["tags[source]"] = params["source"]
    request = translate.query_measurements(name, {k: v for k, v in query.items() if k != "count"})
    request.origin = "legacy"
    return request


def legacy_measurements(reply: measurements_pb2.QueryMeasurementsResponse) -> dict[str, list[dict]]:
    """Measurements keyed by source, as the source-based API answered them."""
    out: dict[str, list[dict]] = {}
    for s in reply.series:
        source = s.tags.get("source", "unassigned")
        out[source] = [{"measure_time": p.time, "value": views.finite_or_none(p.value)} for p in s.measurements]
    return out


class MetricViews:
    def __init__(self, gateway: Any) -> None:
        self.gw = gateway  # gateway.app.Gateway: credentials, bodies, stubs

    async def list_metrics(self, request: web.Request) -> web.Response:
        opts = self.gw.call_options(request)
        rpc = measurements_pb2.ListMetricsRequest(page=translate.page_request(request.query),
                                                  name=coerce.text(request.query.get("name", ""), "name", 255))
        reply = await self.gw.rpc.measurements.ListMetrics(rpc, **opts)
        return json_response({"query": views.query(reply.page), "metrics": [metric(m) for m in reply.metrics]})

    async def get_metric(self, request: web.Request) -> web.Response:
        opts = self.gw.call_options(request)
        name = request.match_info["name"]
        query = legacy_query(name, request.query)
        found = await self.gw.rpc.measurements.GetMetric(measurements_pb2.GetMetricRequest(name=name), **opts)
        body = metric(found)
        if query is not None:
            try:
                reply = await self.gw.rpc.measurements.QueryMeasurements(query, **opts)
            except grpc.RpcError as exc:  # no legacy series in the window: no measurements
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                reply = measurements_pb2.QueryMeasurementsResponse(resolution=query.resolution)
            body["resolution"] = reply.resolution
            body["measurements"] = legacy_measurements(reply)
        return json_response(body)

    async def put_metric(self, request: web.Request) -> web.Response:
        opts = self.gw.call_options(request)
        name = request.match_info["name"]
        rpc = update_request(name, await self.gw.body(request))
        reply = await self.gw.rpc.measurements.UpdateMetric(rpc, **opts)
        if reply.created:
            return json_response(metric(reply.metric), 201, {"Location": f"/v1/metrics/{reply.metric.name}"})
        return web.Response(status=204)


def metric_routes(gateway: Any) -> list[web.RouteDef]:
    """The metric metadata routes, for gateway.app to add."""
    handlers = MetricViews(gateway)
    return [
        web.get("/v1/metrics", handlers.list_metrics),
        web.get("/v1/metrics/{name}", handlers.get_metric),
        web.put("/v1/metrics/{name}", handlers.put_metric),
    ]
