"""A whole chartsnap for the benchmark: NATS, the S3 store, snapshot_svc,
render_svc and the gateway on free ports in a temp dir (the same `Stack` the
tests and `make run` use), plus an account, a space, the reference chart and
an hour of measurements behind it."""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import requests

from devstack.processes import Stack

log = logging.getLogger(__name__)

# The reference chart of issue 4: 600×416, three lines. snapshot_svc buckets a
# 3600 s window at 600 px to ceil(3600 / 300) = 12 s, so one sample every 12 s
# gives ~300 points per stream.
WINDOW_S = 3600
SAMPLE_EVERY_S = 12
HOSTS = ("web-1", "web-2", "web-3")
COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C")
METRIC = "api.latency.p95"


@dataclass(frozen=True)
class Account:
    email: str
    token: str


class PhaseCounter(Protocol):
    """Something counted over a measured phase besides CPU (a database's
    statements, NATS messages): read before and after, reported per item."""

    name: str

    def read(self) -> object: ...

    def per_item(self, before: object, after: object, items: int) -> dict: ...


@dataclass
class BenchStack:
    stack: Stack
    data_dir: Path
    account: Account
    chart_id: int
    # Processes outside the stack's tree, each counted with its whole tree
    # (a PostgreSQL server, which daemonizes): name -> root pid.
    cpu_trees: dict[str, int] = field(default_factory=dict)
    phase_counters: list[PhaseCounter] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @property
    def snapshot_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports.snapshot_metrics}/metrics"

    @property
    def render_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports.render_metrics}/metrics"

    @property
    def gateway_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports.gateway_metrics}/metrics"

    def render_svc_pid(self) -> int:
        return self.stack.processes["render_svc"].popen.pid

    def service_pids(self) -> dict[str, int]:
        """Every process of the stack plus this benchmark's own (its HTTP client
        competes for the same cores)."""
        return {**{name: proc.popen.pid for name, proc in self.stack.processes.items()},
                "bench client": os.getpid()}

    def log_paths(self) -> dict[str, str]:
        return {name: str(proc.log_path) for name, proc in self.stack.processes.items()}

    def stop(self, keep_data: bool = False) -> None:
        self.stack.stop()
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_bench_stack(extra_env: dict[str, str] | None = None) -> BenchStack:
    """``extra_env``: CHARTSNAP_* settings for the services (e.g. render slots)."""
    data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-bench-"))
    # The benchmark measures the service, not the per-account rate limit: off.
    stack = Stack.on_free_ports(data_dir, extra_env={"CHARTSNAP_RATE_LIMIT": "0", **(extra_env or {})})
    started = time.monotonic()
    try:
        stack.start_infrastructure()
        stack.start_snapshot_svc()
        stack.start_render_svc()
        stack.start_gateway()
        log.info("stack up in %.1fs (data and logs in %s)", time.monotonic() - started, data_dir)
        account = add_account(stack)
        chart_id = seed_reference_chart(stack.gateway_url, account)
    except BaseException:
        stack.stop()
        raise
    return BenchStack(stack, data_dir, account, chart_id)


def add_account(stack: Stack) -> Account:
    """The way an operator does it: `python -m snapshot_svc.admin_cli user add` (the `chartsnap` console script)."""
    email = f"bench-{os.getpid()}-{int(time.time())}@example.com"
    out = subprocess.run(
        [sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", email, "--name", "Bench"],
        env={**os.environ, **stack.env}, capture_output=True, text=True, check=True, timeout=60,
    )
    return Account(email, out.stdout.strip().splitlines()[-1])


def seed_reference_chart(gateway_url: str, account: Account) -> int:
    """A space, a 3-stream line chart and an hour of samples for each stream."""
    auth = (account.email, account.token)
    now = int(time.time())
    batch = [
        {"name": METRIC, "time": t, "tags": {"host": host},
         "value": 120 + 40 * n + 25 * math.sin(t / 700 + n) + 9 * math.sin(t / 110 + 2 * n)}
        for n, host in enumerate(HOSTS)
        for t in range(now - WINDOW_S, now, SAMPLE_EVERY_S)
    ]
    reply = requests.post(f"{gateway_url}/v1/measurements", json={"measurements": batch}, auth=auth, timeout=30)
    reply.raise_for_status()
    space = requests.post(f"{gateway_url}/v1/spaces", json={"name": "bench"}, auth=auth, timeout=30)
    space.raise_for_status()
    streams = [{"metric": METRIC, "tags": [{"name": "host", "values": [host]}], "color": color, "name": host}
               for host, color in zip(HOSTS, COLORS)]
    chart = requests.post(f"{gateway_url}/v1/spaces/{space.json()['id']}/charts",
                          json={"name": "API latency p95", "type": "line", "streams": streams},
                          auth=auth, timeout=30)
    chart.raise_for_status()
    return int(chart.json()["id"])


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read().decode()
