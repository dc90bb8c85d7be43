"""Builds the gateway from settings: the gRPC channel and the HTTP app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc
from aiohttp import web

from chartsnap.grpc_server import MESSAGE_LIMITS
from chartsnap.metrics import MetricsServer, serve_metrics
from gateway.app import build_app
from gateway.protocol_errors import GatewayRunner
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


@dataclass
class GatewayServer:
    runner: web.AppRunner
    channel: grpc.aio.Channel
    metrics: MetricsServer | None = None
    port: int = 0

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.channel.close()
        if self.metrics is not None:
            self.metrics.close()


async def start_gateway(settings: GatewaySettings) -> GatewayServer:
    channel = grpc.aio.insecure_channel(settings.snapshot_addr, options=MESSAGE_LIMITS)
    runner = GatewayRunner(build_app(settings, channel), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    # Not on the public port: /metrics tells anyone the routes, statuses and process.
    metrics = serve_metrics(settings.metrics_addr)
    log.info("gateway listening on %s (public URL %s)", settings.listen_addr, settings.public_url)
    # The port bound: the settings may name port 0 (tests start gateways so).
    return GatewayServer(runner, channel, metrics, runner.addresses[0][1])
