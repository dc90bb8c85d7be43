"""SIGTERM, as Kubernetes stops a pod, of each service in turn — render,
notifier, snapshot, gateway — in the middle of a burst of snapshots, with
the supervisor starting it again (the same stack, fixture and careful client
as test_kill_each_process.py's `kill -9`, whose bounds and counts this
reuses).

What must hold, and is asserted:
- each service exits 0 (a graceful stop, not the watchdog's
  STOP_OVERRAN_EXIT) within its drain timeout (its settings'
  `drain_timeout`, CHARTSNAP_<SERVICE>_DRAIN_TIMEOUT, what a manifest's
  terminationGracePeriodSeconds must outlast) plus EXIT_MARGIN;
- no accepted work is lost: every 202 ends `complete` (not merely terminal)
  within the job bound, with one image per snapshot and exactly one message
  per delivery at the peers, every delivery delivered.
The notifier is signalled while attempts hang at the Slack peer, so that it
stops with deliveries in flight; the render service right after a burst's
202s, while it draws them."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from chartsnap.settings import EnvReader
from gateway.settings import GatewaySettings
from notifier_svc.settings import NotifierSettings
from render_svc.settings import RenderSettings
from snapshot_svc.settings import SnapshotSettings, job_bounds_from
from tests.conftest import Peers, add_account
from tests.e2e.api_client import Api
from tests.faults.counting import images_per_snapshot, messages_per_delivery
from tests.faults.test_kill_each_process import SLACK, TERMINAL, RetryingClient, supervised  # noqa: F401

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.timeout(900)]

DRAINED_IN_TURN = {"render_svc": RenderSettings, "notifier_svc": NotifierSettings,
                   "snapshot_svc": SnapshotSettings, "gateway": GatewaySettings}
BURST = 6
EXIT_MARGIN = 3.0     # seconds for the interpreter to exit, on a shared, loaded 2-core machine
HANG_S = 2.0          # a Slack attempt in flight at the signal (under the notifier's 6 s read timeout)
# What a service logs when a piece of work in flight ends: seen between the
# signal and the exit, the drain let it finish (render) or handed it back
# (notifier: "delivery … postponed", or delivered).
WORK_ENDED = {"render_svc": " rendered: ", "notifier_svc": "delivery "}
STOP_LINE = "stop signal: work in flight gets"   # chartsnap.service_main


def test_sigterm_mid_burst_drains_and_loses_no_accepted_work(supervised, peers: Peers) -> None:  # noqa: F811, C901
    stack, supervisor, said = supervised
    bounds = job_bounds_from(EnvReader(stack.service_env("snapshot_svc")))
    job_bound = bounds.job_deadline + bounds.sweep_interval + SLACK
    for peer in (peers.slack, peers.hipchat):
        peer.reset()
    api = Api(stack.gateway_url, *add_account(stack))
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "drain.metric", "value": i % 7, "time": now - 60 * i} for i in range(30)]})
    _, chart_id = api.make_chart("Drains", "line", [{"metric": "drain.metric"}])
    destinations = {}
    for kind, peer in (("slack", peers.slack), ("hipchat", peers.hipchat)):
        r = api.post("/v1/services", json={"title": f"{kind} drains", "type": kind, "settings": peer.settings()})
        assert r.status_code == 201, r.text
        destinations[kind] = r.json()["id"]
    marker = f"drain-burst-{uuid.uuid4().hex[:8]}"
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}, "services": list(destinations.values()),
            "message": marker}
    restart_bound = supervisor.policy.first_delay + max(p.spec.ready_timeout for p in stack.processes.values()) \
        + SLACK
    client = RetryingClient(api, give_up_after=restart_bound)

    drains: dict[str, tuple[float, float]] = {}   # name: (seconds to exit, its drain timeout)
    for name, settings_class in DRAINED_IN_TURN.items():
        drain_timeout = settings_class.from_env(stack.service_env(name)).drain_timeout
        slack_before = len(peers.slack.requests)   # the earlier bursts' deliveries reached it too
        if name == "notifier_svc":
            peers.slack.hang_next(BURST, seconds=HANG_S)
        for _ in range(BURST):
            client.create_snapshot(body)
        if name == "notifier_svc":   # signalled once an attempt hangs at the peer
            deadline = time.monotonic() + restart_bound
            while len(peers.slack.requests) == slack_before:
                assert time.monotonic() < deadline, "no delivery reached the Slack peer"
                time.sleep(0.05)
        before = len(supervisor.restarts_of(name))
        log_path = stack.processes[name].log_path
        log_offset = log_path.stat().st_size
        os.kill(stack.processes[name].popen.pid, signal.SIGTERM)
        signalled = time.monotonic()
        deadline = signalled + drain_timeout + EXIT_MARGIN + 1.0   # + the supervisor's poll
        while len(supervisor.restarts_of(name)) == before:
            assert time.monotonic() < deadline, f"{name} still running {drain_timeout + EXIT_MARGIN:.0f}s after SIGTERM"
            time.sleep(0.05)
        restart = supervisor.restarts_of(name)[before]
        drains[name] = (restart.exited_at - signalled, drain_timeout)
        with open(log_path, "rb") as log:   # read before the restarted process can have done any work
            log.seek(log_offset)
            drain_log = log.read().decode(errors="replace")
        assert STOP_LINE in drain_log, drain_log[-2000:]
        if name in WORK_ENDED:
            ended_in_drain = drain_log.split(STOP_LINE, 1)[1].count(WORK_ENDED[name])
            assert ended_in_drain >= 1, f"{name}: no work was in flight at the signal: {drain_log[-2000:]}"
        assert restart.exit_code == 0, f"{name} exited {restart.exit_code} after SIGTERM: {said}"
        assert restart.exited_at - signalled <= drain_timeout + EXIT_MARGIN
        deadline = time.monotonic() + restart_bound
        while not any(r.ready_at for r in supervisor.restarts_of(name)[before:]):
            assert time.monotonic() < deadline, f"{name} not back within {restart_bound:.0f}s: {said}"
            time.sleep(0.1)

    # Every 202 complete within the bound: nothing accepted was lost.
    pending = {snap["id"]: snap for snap, _ in client.accepted}
    final_deadline = max(at for _, at in client.accepted) + job_bound
    ended: dict[int, dict] = {}
    while pending:
        assert time.monotonic() < final_deadline, f"not terminal within {job_bound:.0f}s: {sorted(pending)}"
        for snap_id, snap in list(pending.items()):
            r = api.get(snap["job_href"], timeout=15)
            job = r.json() if r.status_code == 200 else {"state": "?"}
            if job["state"] in TERMINAL:
                ended[snap_id] = job
                del pending[snap_id]
        time.sleep(0.5)
    assert {snap_id: job["state"] for snap_id, job in ended.items() if job["state"] != "complete"} == {}
    images = images_per_snapshot(stack)
    assert all(images.get(snap_id) == 1 for snap_id in ended), images
    time.sleep(1.0)   # a message the notifier just sent is recorded by the peer's own thread
    received = messages_per_delivery({"slack": peers.slack, "hipchat": peers.hipchat}, destinations, marker)
    for snap_id, job in ended.items():
        for outcome in job["output"]["services"]:
            assert outcome["state"] == "delivered", (snap_id, outcome)
            assert received.get((snap_id, outcome["service_id"])) == 1, (snap_id, outcome)
    assert len(ended) == BURST * len(DRAINED_IN_TURN)
    print(f"{len(ended)} snapshots complete, {client.retries} client retries; exits after SIGTERM: "
          + ", ".join(f"{n} {took:.1f}s (drain timeout {bound:g}s)" for n, (took, bound) in drains.items()))
