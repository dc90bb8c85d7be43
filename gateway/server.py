"""Builds the gateway from settings: the gRPC channel and the HTTP app."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import grpc
from aiohttp import web

from chartsnap.grpc_server import MESSAGE_LIMITS
from chartsnap.metrics import MetricsServer, serve_metrics
from chartsnap.settings import work_grace
from gateway.app import build_app
from gateway.protocol_errors import GatewayRunner
from gateway.request_context import RequestIdMetadata
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

# gRPC's default reconnect backoff (1 s growing ×1.6 to 120 s) keeps answering
# 503 for up to ~10 s after a snapshot service outage ends. Retrying at most
# this far apart, the gateway is back within about a second of it.
RECONNECT_MAX_BACKOFF_MS = 1000
RECONNECT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                     ("grpc.min_reconnect_backoff_ms", 100),
                     ("grpc.max_reconnect_backoff_ms", RECONNECT_MAX_BACKOFF_MS)]
# Client-side balancing over every snapshot replica the target names (a list,
# or a DNS name with several addresses, as a headless Service gives): each
# call goes to the next READY replica, so one that is down only fails the
# calls it was serving; the others are not sent to it while it reconnects.
ROUND_ROBIN_OPTIONS = [("grpc.service_config", json.dumps({"loadBalancingConfig": [{"round_robin": {}}]}))]
CHANNEL_OPTIONS = MESSAGE_LIMITS + RECONNECT_OPTIONS + ROUND_ROBIN_OPTIONS


@dataclass
class GatewayServer:
    runner: web.AppRunner
    channel: grpc.aio.Channel
    metrics: MetricsServer | None = None
    port: int = 0

    async def stop(self, grace: float | None = None) -> None:
        """Stop listening, let requests in flight finish, close the channel.
        aiohttp takes the requests' grace when the runner is built
        (`shutdown_timeout`, from the drain timeout); `grace` is the same
        bound, named for the stop every service has."""
        await self.runner.cleanup()
        await self.channel.close()
        if self.metrics is not None:
            self.metrics.close()


async def start_gateway(settings: GatewaySettings) -> GatewayServer:
    # Every call on it carries the request id of the request it is made for.
    channel = grpc.aio.insecure_channel(settings.snapshot_addr, options=CHANNEL_OPTIONS,
                                        interceptors=[RequestIdMetadata()])
    # aiohttp's own access log stays off: gateway.request_context writes one
    # JSON line per request, with its request id and without credentials.
    runner = GatewayRunner(build_app(settings, channel), access_log=None,
                           shutdown_timeout=work_grace(settings.drain_timeout))
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    # Not on the public port: /metrics tells anyone the routes, statuses and process.
    metrics = serve_metrics(settings.metrics_addr)
    log.info("gateway listening on %s (public URL %s)", settings.listen_addr, settings.public_url)
    # The port bound: the settings may name port 0 (tests start gateways so).
    return GatewayServer(runner, channel, metrics, runner.addresses[0][1])
