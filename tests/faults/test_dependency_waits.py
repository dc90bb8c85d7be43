"""A service started while NATS is down waits for it instead of exiting, says
so in its log, and is SERVING soon after NATS comes up. Real snapshot_svc and
notifier_svc processes; NATS started only later.

Bound: SERVING within RETRY_WAIT + CONNECT_TIMEOUT + STARTUP_MARGIN of NATS
being ready (the shared connect helper retries every RETRY_WAIT)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chartsnap.nats_connection import CONNECT_TIMEOUT, RETRY_WAIT
from devstack.processes import Stack, grpc_serving, launch, nats_spec, s3_spec, service_spec

pytestmark = pytest.mark.timeout(120)

DOWN_FOR = 4.0          # seconds NATS stays down after the services start (at least until they say they wait)
STARTUP_MARGIN = 10.0   # seconds for a service to finish starting once connected, on 2 cores


def test_services_wait_for_nats(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path)
    try:
        stack.start(s3_spec(stack.ports.s3, stack.data_dir, stack.log_dir, stack.creds))
        stack.migrate_database()  # as a deployment does before the snapshot service starts
        health = {"snapshot_svc": f"127.0.0.1:{stack.ports.snapshot}",
                  "notifier_svc": f"127.0.0.1:{stack.ports.notifier_health}"}
        for name, addr in health.items():
            stack.processes[name] = launch(service_spec(
                name, stack.service_env(name), stack.log_dir, lambda addr=addr: grpc_serving(addr),
                tmp_dir=stack.tmp_dir(name)))
        launched = time.monotonic()
        for name in health:  # each reaches its NATS connect (imports, settings, schema check) and says it waits
            proc = stack.processes[name]
            deadline = launched + STARTUP_MARGIN
            while "waiting for NATS" not in proc.log_path.read_text():
                assert proc.popen.poll() is None, f"{name} exited with {proc.popen.returncode} while NATS was down"
                assert time.monotonic() < deadline, f"{name} does not say it waits within {STARTUP_MARGIN:.0f}s"
                time.sleep(0.1)
        time.sleep(max(0.0, launched + DOWN_FOR - time.monotonic()))  # NATS stays down a while longer
        for name in health:
            proc = stack.processes[name]
            assert proc.popen.poll() is None, f"{name} exited with {proc.popen.returncode} while NATS was down"
            with pytest.raises(Exception):  # noqa: PT011, B017 - no health endpoint yet: not ready
                grpc_serving(health[name])

        stack.start(nats_spec(stack.ports.nats, stack.data_dir, stack.log_dir, stack.nats_passwords))
        nats_ready = time.monotonic()
        bound = RETRY_WAIT + CONNECT_TIMEOUT + STARTUP_MARGIN
        waited = {}
        for name, addr in health.items():
            deadline = nats_ready + bound
            while True:
                try:
                    if grpc_serving(addr):
                        break
                except Exception:  # noqa: BLE001 - not yet
                    pass
                assert stack.processes[name].popen.poll() is None, f"{name} exited"
                assert time.monotonic() < deadline, f"{name} not SERVING {bound:.0f}s after NATS was up"
                time.sleep(0.1)
            waited[name] = time.monotonic() - nats_ready
            assert "connected to NATS" in stack.processes[name].log_path.read_text()
        print("SERVING after NATS was up: " + ", ".join(f"{n} {t:.1f}s" for n, t in waited.items()))
    finally:
        stack.stop()


def test_a_wrong_password_stops_the_service_at_once(tmp_path: Path) -> None:
    """A refused login is configuration, not an outage: exit with the reason."""
    stack = Stack.on_free_ports(tmp_path)
    try:
        stack.start_infrastructure()
        env = {**stack.service_env("notifier_svc"), "CHARTSNAP_NATS_PASSWORD": "wrong"}
        addr = f"127.0.0.1:{stack.ports.notifier_health}"
        proc = launch(service_spec("notifier_svc", env, stack.log_dir, lambda: grpc_serving(addr)))
        stack.processes["notifier_svc"] = proc
        assert proc.popen.wait(30) != 0
        assert "refused user notifier_svc" in proc.log_path.read_text()
    finally:
        stack.stop()


