"""What every service's `__main__` does: log, read settings (failing fast with
the variable's name), start, wait for SIGINT/SIGTERM, stop gracefully."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, Awaitable, Callable

from chartsnap import logs
from chartsnap.settings import SettingsError


class StartRefused(RuntimeError):
    """The service must not start as things are (e.g. its database schema is
    behind): it exits with this message, no traceback, and a supervisor's
    restart will not help until someone acts on it."""


def run_service(name: str, read_settings: Callable[[], Any], start: Callable[[Any], Awaitable[Any]]) -> None:
    logs.configure(name)
    try:
        settings = read_settings()
    except SettingsError as exc:
        sys.exit(f"{name}: {exc}")
    try:
        asyncio.run(_serve(settings, start))
    except StartRefused as exc:
        sys.exit(f"{name}: {exc}")


async def _serve(settings: Any, start: Callable[[Any], Awaitable[Any]]) -> None:
    service = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()
