"""Peak memory of the render service: the render_svc process plus everything
below it (chromedriver and each Chromium's browser, renderer, GPU and utility
processes), sampled in a background thread.

Two sums are kept: RSS, which counts pages shared between Chromium's processes
once per process (an over-estimate, what the recycle bound uses), and PSS from
/proc/PID/smaps_rollup, which splits shared pages between their users and so
adds up to what the tree really occupies. Reading PSS walks every mapping of
every process (~20 ms of CPU for two browsers), so it is sampled less often
than RSS (~2 ms), to keep the sampler from slowing what it measures."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from render_svc.chromium_driver import descendant_pids, rss_bytes

log = logging.getLogger(__name__)
MIB = 1024 * 1024


def pss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue  # exited between listing and reading
    return total


@dataclass(frozen=True)
class MemoryPeak:
    peak_rss_mib: float
    peak_pss_mib: float
    peak_processes: int
    samples: int

    def as_dict(self) -> dict:
        return {"peak_rss_mib": round(self.peak_rss_mib, 1), "peak_pss_mib": round(self.peak_pss_mib, 1),
                "peak_processes": self.peak_processes, "samples": self.samples}


class ProcessTreeMemorySampler:
    """Use as a context manager around the phase to watch; `peak()` afterwards."""

    def __init__(self, root_pid: int, interval_s: float = 0.1, pss_every: int = 10) -> None:
        self.root_pid = root_pid
        self.interval_s = interval_s
        self.pss_every = max(1, pss_every)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._peak_rss = self._peak_pss = 0
        self._peak_processes = 0
        self._samples = 0

    def sample_once(self) -> None:
        pids = [self.root_pid, *descendant_pids(self.root_pid)]
        self._peak_rss = max(self._peak_rss, rss_bytes(pids))
        if self._samples % self.pss_every == 0:
            self._peak_pss = max(self._peak_pss, pss_bytes(pids))
        self._peak_processes = max(self._peak_processes, len(pids))
        self._samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.sample_once()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def __enter__(self) -> "ProcessTreeMemorySampler":
        if not os.path.exists(f"/proc/{self.root_pid}"):
            raise ProcessLookupError(f"render_svc (pid {self.root_pid}) is not running")
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak(self) -> MemoryPeak:
        return MemoryPeak(self._peak_rss / MIB, self._peak_pss / MIB, self._peak_processes, self._samples)
