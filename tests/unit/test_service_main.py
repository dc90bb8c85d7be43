"""chartsnap.service_main's stop, as a supervisor sees it from outside: a
process running `run_service` with a small service of the test's own is sent
SIGTERM. It stops with the work grace its drain timeout leaves
(`work_grace`) and exits 0; a signal while the start awaits something stops
it at once (exit 0), one while the start is stuck in a thread within the
drain timeout (STOP_OVERRAN_EXIT); a stop that overruns the drain timeout is cut short with
STOP_OVERRAN_EXIT. Each exit is waited for within the drain timeout plus
PROCESS_MARGIN, the bound a manifest's terminationGracePeriodSeconds covers."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from chartsnap.service_main import STOP_OVERRAN_EXIT
from chartsnap.settings import STOP_ALLOWANCE_S, work_grace

pytestmark = pytest.mark.timeout(60)

DRAIN_TIMEOUT = STOP_ALLOWANCE_S + 2.0   # work grace 2 s
PROCESS_MARGIN = 3.0   # interpreter start and exit on a shared, loaded 2-core machine
STARTED_WITHIN = 20.0  # seconds for the process to import and start (a cold interpreter under load)

TOY_SERVICE = textwrap.dedent('''
    import asyncio, sys, time
    from dataclasses import dataclass
    from chartsnap.service_main import run_service

    MODE, DRAIN = sys.argv[1], float(sys.argv[2])

    @dataclass(frozen=True)
    class Settings:
        drain_timeout: float = DRAIN

    class Service:
        async def stop(self, grace):
            print(f"stop grace={grace:g}", flush=True)
            if MODE == "stop-hangs":
                await asyncio.to_thread(time.sleep, 3600)   # a thread that will not finish
            elif MODE == "work-in-flight":
                await asyncio.sleep(grace / 2)              # the work ends within its grace
            print("stopped", flush=True)

    async def start(settings):
        print("starting", flush=True)
        if MODE == "start-hangs":
            await asyncio.to_thread(time.sleep, 3600)       # e.g. browsers warming up in a thread
        elif MODE == "start-waits":
            await asyncio.sleep(3600)                       # e.g. waiting for the S3 store to answer
        print("started", flush=True)
        return Service()

    run_service("toy", Settings, start)
''')


class ToyProcess:
    def __init__(self, tmp_path: Path, mode: str) -> None:
        script = tmp_path / "toy_service.py"
        script.write_text(TOY_SERVICE)
        self.popen = subprocess.Popen([sys.executable, str(script), mode, str(DRAIN_TIMEOUT)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      cwd=Path(__file__).resolve().parents[2])
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.strip())

    def wait_for_line(self, line: str, within: float) -> None:
        deadline = time.monotonic() + within
        while line not in self.lines:
            assert self.popen.poll() is None, f"exited {self.popen.returncode}: {self.popen.stderr.read()}"
            assert time.monotonic() < deadline, f"no {line!r} within {within}s: {self.lines}"
            time.sleep(0.02)

    def terminate_and_time_exit(self) -> tuple[int, float]:
        sent = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(DRAIN_TIMEOUT + PROCESS_MARGIN)
        self.reader.join(5)
        return code, time.monotonic() - sent

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)


@pytest.fixture
def toy(tmp_path):
    started: list[ToyProcess] = []

    def run(mode: str) -> ToyProcess:
        started.append(ToyProcess(tmp_path, mode))
        return started[-1]

    yield run
    for process in started:
        process.kill()


def test_sigterm_gives_the_work_in_flight_its_grace_and_exits_0(toy):
    service = toy("work-in-flight")
    service.wait_for_line("started", STARTED_WITHIN)
    code, took = service.terminate_and_time_exit()
    assert code == 0, service.popen.stderr.read()
    assert service.lines[-2:] == [f"stop grace={work_grace(DRAIN_TIMEOUT):g}", "stopped"]
    assert took <= DRAIN_TIMEOUT + PROCESS_MARGIN


def test_sigterm_while_the_start_waits_for_a_dependency_stops_it_at_once(toy):
    service = toy("start-waits")
    service.wait_for_line("starting", STARTED_WITHIN)
    code, took = service.terminate_and_time_exit()
    assert code == 0 and "started" not in service.lines, service.popen.stderr.read()
    assert took <= PROCESS_MARGIN


def test_sigterm_during_a_start_that_does_not_end_stops_it_within_the_drain_timeout(toy):
    service = toy("start-hangs")
    service.wait_for_line("starting", STARTED_WITHIN)
    code, took = service.terminate_and_time_exit()
    # The start's thread cannot be cancelled: the watchdog ends the process.
    assert code == STOP_OVERRAN_EXIT and "started" not in service.lines
    assert DRAIN_TIMEOUT - 0.5 <= took <= DRAIN_TIMEOUT + PROCESS_MARGIN


def test_a_stop_that_overruns_the_drain_timeout_is_cut_short(toy):
    service = toy("stop-hangs")
    service.wait_for_line("started", STARTED_WITHIN)
    code, took = service.terminate_and_time_exit()
    assert code == STOP_OVERRAN_EXIT and "stopped" not in service.lines
    assert DRAIN_TIMEOUT - 0.5 <= took <= DRAIN_TIMEOUT + PROCESS_MARGIN
    assert "did not stop within its drain timeout" in service.popen.stderr.read()
