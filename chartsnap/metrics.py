"""Prometheus metrics, exposed the same way by every service.

Every service, the gateway included, serves `/metrics` from a small HTTP
server in a daemon thread on an address of its own (the gateway's public port
must not tell anyone its routes, statuses and process). Metric
objects live in each service's own module (e.g. render_svc.render_metrics)
and register in prometheus_client's default registry, which also carries the
process collector (CPU seconds, resident memory) for free."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from chartsnap.settings import split_host_port

log = logging.getLogger(__name__)

# Seconds. One render step takes from ~1 ms (upload of a 30 kB PNG) to ~100 ms
# (embedding a 3-stream chart); a whole job under load up to seconds. The fine
# steps below 100 ms are where the targets (80 ms render, 200 ms end to end) lie.
STEP_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.125, 0.15,
    0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0,
)
# Latency seen by users (HTTP, RPC, job create→complete): same resolution
# around the 200/500 ms targets, longer tail for bursts.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0,
    2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
)


@dataclass
class MetricsServer:
    """The `/metrics` endpoint of a service without its own HTTP server."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_metrics(address: str) -> MetricsServer:
    """Serve the default registry on ``host:port`` (port 0 picks a free one).

    Fails like the service's other listeners when the address is taken: a
    service silently running without metrics is worse than one that says so."""
    host, port = split_host_port(address)   # `[::]:9102` binds `::`
    httpd, thread = start_http_server(port, addr=host)
    server = MetricsServer(httpd, thread)
    log.info("metrics on http://%s:%s/metrics", host, server.port)
    return server
