"""Keeping a stack running: a process that exits (crash, OOM kill, `kill -9`)
is cleaned up — its whole process tree killed, its temp dir removed — and
started again after a backoff that doubles while it keeps failing. Used by
`make run` and by the fault tests, so both restart things the same way.

Each process has a watcher thread; restarting one never waits on another."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from devstack.processes import ManagedProcess, Stack, launch

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.1  # seconds between looks at a child (exit, readiness)


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 0.5    # seconds before the first restart
    max_delay: float = 30.0     # the doubling stops here
    stable_after: float = 60.0  # up this long, and the next crash starts again from first_delay

    def delay(self, crashes_in_a_row: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(0, crashes_in_a_row - 1))


@dataclass
class Restart:
    """One restart, for the log and for tests (times from time.monotonic)."""

    name: str
    exit_code: int              # negative: killed by that signal
    delay: float
    number: int                 # restarts of this process so far, this one included
    exited_at: float
    ready_at: float | None = None

    @property
    def downtime(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.exited_at


class Supervisor:
    def __init__(self, stack: Stack, policy: RestartPolicy = RestartPolicy(),
                 say: Callable[[str], None] | None = None) -> None:
        self.stack = stack
        self.policy = policy
        self.say = say or (lambda line: print(line, flush=True))
        self.restarts: list[Restart] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Supervisor":
        """Watch every process the stack has now."""
        self.stack.supervisor = self
        for name in list(self.stack.processes):
            thread = threading.Thread(target=self._watch, args=(name,), name=f"supervise-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop restarting (the processes keep running; Stack.stop ends them)."""
        with self._lock:
            self._stopping.set()
        for thread in self._threads:
            thread.join(30)
        self._threads.clear()

    def restarts_of(self, name: str) -> list[Restart]:
        with self._lock:
            return [r for r in self.restarts if r.name == name]

    def _watch(self, name: str) -> None:
        crashes_in_a_row = 0
        while True:
            proc = self.stack.processes[name]
            code = self._wait_exit(proc)
            if self._stopping.is_set():
                return
            exited_at = time.monotonic()
            crashes_in_a_row = 1 if exited_at - proc.started_at >= self.policy.stable_after else crashes_in_a_row + 1
            proc.clean_up()
            delay = self.policy.delay(crashes_in_a_row)
            with self._lock:
                restart = Restart(name, code, delay, len([r for r in self.restarts if r.name == name]) + 1,
                                  exited_at)
                self.restarts.append(restart)
            self.say(f"{name} exited with {code}; restarting in {delay:g} s (restart {restart.number})")
            if self._stopping.wait(delay):
                return
            new = self._launch_again(proc, crashes_in_a_row)
            if new is None:
                return
            if self._wait_ready(new):
                restart.ready_at = time.monotonic()
                self.say(f"{name} is back, ready {restart.downtime:.1f} s after it exited")

    def _launch_again(self, proc: ManagedProcess, crashes_in_a_row: int) -> ManagedProcess | None:
        """The process started again from its spec; None once stopping."""
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return None
                try:
                    new = launch(proc.spec)
                except OSError as exc:
                    crashes_in_a_row += 1
                    self.say(f"{proc.name}: starting it failed ({exc}); "
                             f"trying again in {self.policy.delay(crashes_in_a_row):g} s")
                else:
                    self.stack.processes[proc.name] = new
                    return new
            if self._stopping.wait(self.policy.delay(crashes_in_a_row)):
                return None

    def _wait_exit(self, proc: ManagedProcess) -> int | None:
        while proc.popen.poll() is None:
            if self._stopping.wait(POLL_INTERVAL):
                return None
        return proc.popen.returncode

    def _wait_ready(self, proc: ManagedProcess) -> bool:
        spec = proc.spec
        deadline = time.monotonic() + spec.ready_timeout
        warned = False
        while proc.popen.poll() is None and not self._stopping.is_set():
            try:
                if spec.ready():
                    return True
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            if not warned and time.monotonic() > deadline:
                warned = True
                self.say(f"{proc.name} not ready after {spec.ready_timeout:g} s; see {proc.log_path}")
            self._stopping.wait(POLL_INTERVAL)
        return False

