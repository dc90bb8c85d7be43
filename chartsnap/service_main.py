"""What every service's `__main__` does: log (CHARTSNAP_LOG_*), read settings
(failing fast with the variable's name), start, wait for SIGINT/SIGTERM, stop
gracefully. A service that cannot start says why in one log line and exits
with START_REFUSED_EXIT.

Stopping is bounded by the service's drain timeout (`settings.drain_timeout`,
CHARTSNAP_<SERVICE>_DRAIN_TIMEOUT), so that a supervisor's grace period
(Kubernetes' terminationGracePeriodSeconds) can be set above it: from the
signal, work in flight gets `work_grace(drain_timeout)` seconds to finish,
the rest of the timeout is for closing; a stop that overruns the whole
timeout is cut short (STOP_OVERRAN_EXIT), leaving what was not acked for
JetStream to redeliver. The signal handlers are installed before the
service starts: a signal during a slow start (browsers warming up, waiting
for the S3 store) stops it at once rather than being ignored by PID 1."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any, Awaitable, Callable

from chartsnap import logs
from chartsnap.settings import SettingsError, names_asked, work_grace

log = logging.getLogger(__name__)

START_REFUSED_EXIT = 2  # a bad setting or a refused start: restarting will not help
STOP_OVERRAN_EXIT = 3   # stopping took longer than the drain timeout: cut short
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    watchdog = StopWatchdog(name, settings.drain_timeout)
    try:
        asyncio.run(_serve(settings, start, watchdog))
    except StartRefused as exc:
        refuse(name, exc)
    finally:
        watchdog.cancel()


def variables_read(read_settings: Callable[[dict[str, str]], Any],
                   environ: dict[str, str] | None = None) -> frozenset[str]:
    """Every CHARTSNAP_* variable a service run by `run_service` reads: the log
    settings' and its own settings', read from `environ` (default: none set;
    a value can make a reader ask for more, so pass the deployment's). Bad
    values do not stop the count."""
    with names_asked() as names:
        for read in (logs.LogSettings.from_env, read_settings):
            try:
                read(dict(environ or {}))
            except SettingsError:
                pass
    return frozenset(names)


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


class StopWatchdog:
    """Ends the process STOP_OVERRAN_EXIT if it is still there `drain_timeout`
    seconds after the stop signal (threads that will not finish, a peer that
    does not answer a close): a timer thread, since the event loop itself may
    be what is stuck, and asyncio.run waits for executor threads at its end."""

    def __init__(self, name: str, drain_timeout: float) -> None:
        self.name, self.drain_timeout = name, drain_timeout
        self.timer: threading.Timer | None = None

    def arm(self) -> None:
        if self.timer is None:
            self.timer = threading.Timer(self.drain_timeout, self._overran)
            self.timer.daemon = True
            self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def _overran(self) -> None:
        log.critical("%s did not stop within its drain timeout (%.0f s): exiting now; "
                     "work not acked is redelivered", self.name, self.drain_timeout)
        logging.shutdown()
        os._exit(STOP_OVERRAN_EXIT)


async def _serve(settings: Any, start: Callable[[Any], Awaitable[Any]], watchdog: StopWatchdog) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(start(settings), name="start")
    signalled = asyncio.create_task(stop.wait(), name="stop-signal")
    await asyncio.wait((starting, signalled), return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("stop signal while starting: not starting")
        watchdog.arm()
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return
    if starting.exception() is not None:
        signalled.cancel()
    service = starting.result()   # raises what the start raised (StartRefused...)
    await signalled
    watchdog.arm()
    grace = work_grace(settings.drain_timeout)
    log.info("stop signal: work in flight gets %.0f s, stopping within %.0f s", grace, settings.drain_timeout)
    await service.stop(grace)
