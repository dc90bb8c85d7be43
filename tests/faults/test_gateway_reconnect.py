"""The gateway is back within about a second of the snapshot service: after
an outage long enough for gRPC's default reconnect backoff to reach ~6 s,
the first 2xx through the gateway follows the snapshot service's health
SERVING by at most the configured max reconnect backoff (+20 % jitter) plus
a scheduling margin. Real snapshot_svc and gateway processes on real NATS.

Bound: RECONNECT_MAX_BACKOFF_MS × 1.2 + MARGIN (3.2 s as configured). With
gRPC's defaults (1 s ×1.6 up to 120 s) the same outage leaves the gateway
answering 503 for several seconds after the service is back."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from devstack.processes import Stack, grpc_serving, launch
from gateway.server import RECONNECT_MAX_BACKOFF_MS
from tests.conftest import add_account

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

OUTAGE = 16.0   # seconds: the default backoff's 5th retry comes ~15.8 s after the loss, its 6th ~26 s
MARGIN = 2.0    # seconds of polling and scheduling noise on a shared, loaded 2-core machine
POLL = 0.05


@pytest.fixture(scope="module")
def services(infra: Stack):  # noqa: ANN201
    infra.start_snapshot_svc()
    infra.start_gateway()
    yield infra


def test_gateway_reconnects_within_its_max_backoff(services: Stack) -> None:
    stack = services
    auth = add_account(stack)
    url = f"{stack.gateway_url}/v1/spaces"
    assert requests.get(url, auth=auth, timeout=5).status_code == 200

    snapshot = stack.processes["snapshot_svc"]
    snapshot.kill()
    kills = 1
    unavailable = 0
    outage_ends = time.monotonic() + OUTAGE
    while time.monotonic() < outage_ends:   # keep the channel trying, as clients would
        status = requests.get(url, auth=auth, timeout=5).status_code
        assert status == 503, status
        unavailable += 1
        time.sleep(0.2)

    stack.processes["snapshot_svc"] = launch(snapshot.spec)
    launched = time.monotonic()
    serving_at: list[float] = []

    def watch_health() -> None:
        while not serving_at and time.monotonic() - launched < 60:
            try:
                if grpc_serving(f"127.0.0.1:{stack.ports.snapshot}"):
                    serving_at.append(time.monotonic())
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(POLL)

    watcher = threading.Thread(target=watch_health, daemon=True)
    watcher.start()
    first_ok = None
    while time.monotonic() - launched < 60:
        if requests.get(url, auth=auth, timeout=5).status_code == 200:
            first_ok = time.monotonic()
            break
        time.sleep(POLL)
    watcher.join(60)
    assert serving_at and first_ok is not None
    gap = first_ok - serving_at[0]
    bound = RECONNECT_MAX_BACKOFF_MS / 1000 * 1.2 + MARGIN
    print(f"snapshot_svc SERVING {serving_at[0] - launched:.2f}s after launch; first gateway 2xx "
          f"{gap:+.2f}s after that (bound {bound:.1f}s); {unavailable} 503s during the outage")
    assert gap <= bound
    assert kills == 1 and unavailable >= OUTAGE / 0.2 / 2
