"""Builds the gateway from settings: the gRPC channel and the HTTP app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc
from aiohttp import web

from chartsnap.grpc_server import MESSAGE_LIMITS
from gateway.app import build_app
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


@dataclass
class GatewayServer:
    runner: web.AppRunner
    channel: grpc.aio.Channel

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.channel.close()


async def start_gateway(settings: GatewaySettings) -> GatewayServer:
    channel = grpc.aio.insecure_channel(settings.snapshot_addr, options=MESSAGE_LIMITS)
    runner = web.AppRunner(build_app(settings, channel), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    log.info("gateway listening on %s (public URL %s)", settings.listen_addr, settings.public_url)
    return GatewayServer(runner, channel)
