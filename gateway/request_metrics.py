"""Prometheus metrics of the gateway: request latency by route and status.
They are served on CHARTSNAP_GATEWAY_METRICS_ADDR (chartsnap.metrics.serve_metrics),
never on the public port."""

from __future__ import annotations

import time
from typing import Awaitable, Callable

from aiohttp import web
from prometheus_client import Histogram

from chartsnap.metrics import LATENCY_BUCKETS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_SECONDS = Histogram(
    "chartsnap_gateway_request_seconds",
    "HTTP requests answered, by method, route template (not the raw path, so ids do not "
    "explode the label set) and status.",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outside the error middleware (inside only the access log), so it sees the status it chose."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        REQUEST_SECONDS.labels(request.method, route_of(request), str(status)).observe(
            time.perf_counter() - started)

