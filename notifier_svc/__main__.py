"""python -m notifier_svc — wires settings, logging and the service; nothing else."""

from __future__ import annotations

import asyncio
import signal
import sys

from chartsnap import logs
from chartsnap.settings import SettingsError
from notifier_svc.service import start_notifier_service
from notifier_svc.settings import NotifierSettings


async def main(settings: NotifierSettings) -> None:
    service = await start_notifier_service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()


if __name__ == "__main__":
    logs.configure("notifier_svc")
    try:
        settings = NotifierSettings.from_env()
    except SettingsError as exc:
        sys.exit(f"notifier_svc: {exc}")
    asyncio.run(main(settings))
