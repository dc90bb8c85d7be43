"""python -m render_svc — wires settings, logging and the service; nothing else."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from chartsnap import logs
from chartsnap.settings import SettingsError
from render_svc.service import start_render_service
from render_svc.settings import RenderSettings


async def main(settings: RenderSettings) -> None:
    service = await start_render_service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()


if __name__ == "__main__":
    logs.configure("render_svc")
    os.environ.setdefault("BOKEH_IN_DOCKER", "1")  # bokeh's own Chromium flags for root/containers
    try:
        settings = RenderSettings.from_env()
    except SettingsError as exc:
        sys.exit(f"render_svc: {exc}")
    asyncio.run(main(settings))
