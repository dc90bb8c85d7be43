"""python -m gateway — wires settings, logging, the gRPC channel and the HTTP app."""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
from aiohttp import web

from chartsnap import logs
from chartsnap.grpc_server import MESSAGE_LIMITS
from chartsnap.settings import SettingsError
from gateway.app import build_app
from gateway.settings import GatewaySettings


async def main(settings: GatewaySettings) -> None:
    channel = grpc.aio.insecure_channel(settings.snapshot_addr, options=MESSAGE_LIMITS)
    runner = web.AppRunner(build_app(settings, channel), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    print(f"gateway listening on {settings.public_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await channel.close()


if __name__ == "__main__":
    logs.configure("gateway")
    try:
        settings = GatewaySettings.from_env()
    except SettingsError as exc:
        sys.exit(f"gateway: {exc}")
    asyncio.run(main(settings))
