"""`CHARTSNAP_REPLICAS=2 CHARTSNAP_NATS_NODES=3 make run` (python -m devstack)
in a data dir of its own, on free ports, every other variable as it is:

- it prints one ready line per process: three NATS nodes, the S3 store, two
  of each of snapshot_svc, render_svc and notifier_svc, one gateway;
- it runs two processes of each replicated service (each with its own TMPDIR
  and log), one gateway, three nats-servers;
- `kill -9` of snapshot_svc-2, render_svc-2 and nats-2: the supervisor
  restarts each, by its name, and nothing else; the gateway keeps answering
  through the other snapshot replica meanwhile;
- Ctrl-C stops everything.

Bounds: make run ready within READY_BOUND (render_svc's readiness timeout,
the replicas start together, plus NATS, the migration and the rest); each
restart ready within the first backoff delay plus the process's readiness
timeout plus READY_MARGIN."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from devstack.processes import free_ports
from devstack.supervisor import RestartPolicy
from tests.faults.test_supervisor import alive, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.timeout(480)]

READY_BOUND = 240.0   # seconds: render_svc's 120 s readiness timeout, NATS, the migration, the rest
READY_MARGIN = 10.0   # seconds: starting a process on a loaded 2-core machine
RENDER_READY_TIMEOUT = 120.0
KILLED = ("snapshot_svc-2", "render_svc-2", "nats-2")
PROCESSES = ("nats", "nats-2", "nats-3", "S3 store", "snapshot_svc", "snapshot_svc-2", "render_svc",
             "render_svc-2", "notifier_svc", "notifier_svc-2", "gateway")


def children(pid: int) -> dict[str, int]:
    """{process name: pid} of `pid`'s children: a service by its TMPDIR (named
    after its replica), a nats-server by its config file (named after its node)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) != pid:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            environ = dict(item.split(b"=", 1) for item in (stat.parent / "environ").read_bytes().split(b"\0")
                           if b"=" in item)
        except (OSError, IndexError, ValueError):
            continue
        if b"-c" in argv and argv[argv.index(b"-c") + 1].endswith(b".conf"):
            found[Path(argv[argv.index(b"-c") + 1].decode()).stem] = int(stat.parent.name)
        elif b"-m" in argv and b"TMPDIR" in environ:
            found[Path(environ[b"TMPDIR"].decode()).name] = int(stat.parent.name)
    return found


def test_make_run_with_replicas_and_a_nats_cluster(tmp_path: Path) -> None:
    ports = dict(zip(("NATS_PORT", "S3_PORT"), free_ports(2)))
    names = ("SNAPSHOT_ADDR", "RENDER_HEALTH_ADDR", "NOTIFIER_HEALTH_ADDR", "GATEWAY_ADDR",
             "SNAPSHOT_METRICS_ADDR", "RENDER_METRICS_ADDR", "GATEWAY_METRICS_ADDR", "NOTIFIER_METRICS_ADDR")
    addrs = {name: f"127.0.0.1:{port}" for name, port in zip(names, free_ports(len(names), set(ports.values())))}
    env = {**os.environ, "CHARTSNAP_DATA_DIR": str(tmp_path / "var"), "BOKEH_IN_DOCKER": "1",
           "CHARTSNAP_REPLICAS": "2", "CHARTSNAP_NATS_NODES": "3",
           **{f"CHARTSNAP_{k}": str(v) for k, v in {**ports, **addrs}.items()}}
    out = tmp_path / "make-run.out"
    run = subprocess.Popen([sys.executable, "-m", "devstack"], env=env, stdout=open(out, "w"),
                           stderr=subprocess.STDOUT, start_new_session=True)
    pids: dict[str, int] = {}
    try:
        wait_for("make run ready", lambda: "chartsnap is ready at" in out.read_text() or run.poll() is not None,
                 READY_BOUND)
        text = out.read_text()
        assert run.poll() is None, text
        ready = [line.split()[0] if not line.startswith("  S3 store") else "S3 store"
                 for line in text.splitlines() if line.endswith("  ready")]
        assert ready == list(PROCESSES), text
        started_in = float(re.search(r"started in ([0-9.]+)s", text).group(1))

        pids = children(run.pid)
        assert set(pids) == set(PROCESSES) - {"S3 store"}, pids   # each replica its own TMPDIR, each node its config
        gateway = f"http://{addrs['GATEWAY_ADDR']}"
        assert requests.get(f"{gateway}/healthz", timeout=5).status_code == 200

        user = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", "replicas@example.com"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        auth = ("replicas@example.com", user.stdout.strip().splitlines()[-1])
        for name in KILLED:
            os.kill(pids[name], signal.SIGKILL)
        # Meanwhile the gateway answers through snapshot_svc (503 only for a call in flight at the kill).
        statuses = Counter(requests.get(f"{gateway}/v1/spaces", auth=auth, timeout=10).status_code for _ in range(10))
        assert statuses[200] >= 9, statuses
        policy = RestartPolicy()
        for name in KILLED:
            bound = policy.first_delay + RENDER_READY_TIMEOUT + READY_MARGIN
            wait_for(f"{name} back", lambda name=name: f"{name} is back" in out.read_text(), bound)
            assert f"{name} exited with -9; restarting in {policy.first_delay:g} s (restart 1)" in out.read_text()
        restarted = set(re.findall(r"^(\S+) exited with", out.read_text(), re.M))
        assert restarted == set(KILLED), out.read_text()
        assert requests.get(f"{gateway}/v1/spaces", auth=auth, timeout=10).status_code == 200
        pids = children(run.pid)
        print(f"make run with 2 replicas and 3 NATS nodes ready in {started_in:.1f}s; "
              + "; ".join(line for line in out.read_text().splitlines() if " is back" in line))
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(90) == 0, out.read_text()
    assert out.read_text().rstrip().endswith("stopped")
    assert not any(alive(pid) for pid in pids.values())
