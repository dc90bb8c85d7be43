"""What every service's `__main__` does: log (CHARTSNAP_LOG_*), read settings
(failing fast with the variable's name), start, wait for SIGINT/SIGTERM, stop
gracefully. A service that cannot start says why in one log line and exits
with START_REFUSED_EXIT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any, Awaitable, Callable

from chartsnap import logs
from chartsnap.settings import SettingsError

log = logging.getLogger(__name__)

START_REFUSED_EXIT = 2  # a bad setting or a refused start: restarting will not help


class StartRefused(RuntimeError):
    """The service must not start as things are (e.g. its database schema is
    behind): it exits with this message, no traceback, and a supervisor's
    restart will not help until someone acts on it."""


def run_service(name: str, read_settings: Callable[[], Any], start: Callable[[Any], Awaitable[Any]]) -> None:
    problems: list[SettingsError] = []
    try:
        logs.configure_from_env(name)   # logs in the default format if CHARTSNAP_LOG_* are bad
    except SettingsError as exc:
        problems.append(exc)
    try:
        settings = read_settings()
    except SettingsError as exc:
        problems.append(exc)
    if problems:
        refuse(name, merged(problems))
    try:
        asyncio.run(_serve(settings, start))
    except StartRefused as exc:
        refuse(name, exc)


def merged(problems: list[SettingsError]) -> SettingsError:
    """One error listing every bad variable, the log settings' and the service's."""
    if len(problems) == 1:
        return problems[0]
    heading = "invalid configuration:"
    lines = [line for exc in problems for line in
             (str(exc).splitlines()[1:] if str(exc).startswith(heading) else [f"  {exc}"])]
    return SettingsError("\n".join([heading, *lines]))


def refuse(name: str, exc: Exception) -> None:
    log.critical("%s cannot start: %s", name, exc)
    sys.exit(START_REFUSED_EXIT)


async def _serve(settings: Any, start: Callable[[Any], Awaitable[Any]]) -> None:
    service = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()
