"""python -m snapshot_svc — wires settings, logging and the server; nothing else."""

from __future__ import annotations

import asyncio
import signal
import sys

from chartsnap import logs
from chartsnap.settings import SettingsError
from snapshot_svc.server import start_snapshot_service
from snapshot_svc.settings import SnapshotSettings


async def main(settings: SnapshotSettings) -> None:
    service = await start_snapshot_service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()


if __name__ == "__main__":
    logs.configure("snapshot_svc")
    try:
        settings = SnapshotSettings.from_env()
    except SettingsError as exc:
        sys.exit(f"snapshot_svc: {exc}")
    asyncio.run(main(settings))
