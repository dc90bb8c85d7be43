"""One gateway in front of two snapshot_svc replicas, as `CHARTSNAP_REPLICAS=2
make run` runs them (the gateway's CHARTSNAP_SNAPSHOT_ADDR lists both; its
channel balances round-robin). Real processes on real NATS; what each replica
served is read from its own Prometheus RPC counter, on its metrics port.

What must hold, and is asserted:
- calls spread over both replicas: of N sequential calls each serves N/2,
  give or take one (round-robin over two READY replicas);
- `kill -9` of one replica while clients keep calling: every answer is 200
  except, at most one per client in flight at the kill, 503 with Retry-After;
  afterwards every call is served by the live replica;
- the killed replica started again is back in rotation within the gateway's
  reconnect bound (RECONNECT_MAX_BACKOFF_MS × 1.2 jitter + MARGIN) of its
  health answering SERVING."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import Stack, grpc_serving, launch
from gateway.server import RECONNECT_MAX_BACKOFF_MS
from tests.conftest import add_account

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

CALLS = 40
CLIENTS = 4       # threads calling through the gateway while a replica is killed
MARGIN = 2.0      # seconds of polling and scheduling noise on a shared, loaded 2-core machine
METHOD = "ListSpaces"   # what GET /v1/spaces calls
POLL = 0.05


@pytest.fixture(scope="module")
def replicated(infra: Stack) -> Stack:
    infra.replicas = 2
    infra.start_snapshot_svc()
    infra.start_gateway()
    return infra


def served(stack: Stack, name: str) -> int:
    """ListSpaces calls replica `name` has answered OK, from its /metrics."""
    addr = stack.service_env(name)["CHARTSNAP_SNAPSHOT_METRICS_ADDR"]
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "chartsnap_snapshot_rpc_seconds":
            return int(sum(s.value for s in family.samples if s.name.endswith("_count")
                           and s.labels.get("method") == METHOD and s.labels.get("code") == "OK"))
    return 0


def test_calls_spread_over_both_replicas_and_survive_the_loss_of_one(replicated: Stack) -> None:  # noqa: C901
    stack = replicated
    first, second = stack.replica_names("snapshot_svc")
    assert stack.service_env("gateway")["CHARTSNAP_SNAPSHOT_ADDR"] == ",".join(stack.snapshot_addrs)
    auth = add_account(stack)
    url = f"{stack.gateway_url}/v1/spaces"
    session = requests.Session()
    # The channel connects to each replica on first use: one call each to warm up.
    deadline = time.monotonic() + RECONNECT_MAX_BACKOFF_MS / 1000 * 1.2 + MARGIN
    while not (served(stack, first) and served(stack, second)):
        assert session.get(url, auth=auth, timeout=5).status_code == 200
        assert time.monotonic() < deadline, "the gateway does not reach both replicas"

    before = {name: served(stack, name) for name in (first, second)}
    for _ in range(CALLS):
        assert session.get(url, auth=auth, timeout=5).status_code == 200
    spread = {name: served(stack, name) - before[name] for name in (first, second)}
    assert sum(spread.values()) == CALLS
    assert abs(spread[first] - spread[second]) <= 1, spread

    # kill -9 of one replica while CLIENTS threads keep calling.
    answers: list[tuple[float, int, str | None]] = []   # (time, status, Retry-After)
    stop = threading.Event()

    def client() -> None:
        own = requests.Session()
        while not stop.is_set():
            r = own.get(url, auth=auth, timeout=10)
            answers.append((time.monotonic(), r.status_code, r.headers.get("Retry-After")))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while len(answers) < 2 * CLIENTS:
        time.sleep(POLL)
    killed = stack.processes[second]
    os.kill(killed.popen.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    killed.popen.wait(10)
    while len([a for a in answers if a[0] > killed_at]) < CALLS:
        time.sleep(POLL)
    stop.set()
    for thread in threads:
        thread.join(15)
    failed = [(at - killed_at, status, retry_after) for at, status, retry_after in answers if status != 200]
    assert all(status == 503 and retry_after for _, status, retry_after in failed), failed
    assert len(failed) <= CLIENTS, f"more 503s than calls in flight at the kill: {failed}"

    live_before = served(stack, first)
    for _ in range(CALLS):
        assert session.get(url, auth=auth, timeout=5).status_code == 200
    assert served(stack, first) - live_before == CALLS, "a call went elsewhere than the live replica"

    # Started again, the replica is back in rotation within the reconnect bound.
    stack.processes[second] = launch(killed.spec)
    addr = stack.health_addr(second)
    launched = time.monotonic()
    while True:
        try:
            if grpc_serving(addr):
                break
        except Exception:  # noqa: BLE001 - not up yet
            pass
        assert time.monotonic() - launched < killed.spec.ready_timeout, f"{second} not serving again"
        time.sleep(POLL)
    serving_at = time.monotonic()
    bound = RECONNECT_MAX_BACKOFF_MS / 1000 * 1.2 + MARGIN
    while served(stack, second) == 0:
        assert session.get(url, auth=auth, timeout=5).status_code == 200
        assert time.monotonic() - serving_at <= bound, f"{second} not back in rotation within {bound:.1f}s"
    back_after = time.monotonic() - serving_at
    print(f"{CALLS} calls: {spread}; kill -9 of {second} under {CLIENTS} clients: "
          f"{len(answers)} answers, {len(failed)} 503s {[f'{t:+.2f}s' for t, _, _ in failed]}; "
          f"{second} back in rotation {back_after:.2f}s after SERVING (bound {bound:.1f}s)")
