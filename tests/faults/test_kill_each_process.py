"""`kill -9` of each process of a whole stack — render, snapshot, notifier,
gateway, NATS, the S3 store — in the middle of a burst of snapshots, with the
supervisor restarting it (as `make run` does). Every snapshot goes to two
local chat peers (Slack, HipChat), so messages are counted.

What must hold, and is asserted:
- every 202 ends `complete` or `failed` within the stated bound: the
  snapshot service's job deadline (snapshot_svc.settings.JobBounds, derived
  from this stack's settings) plus one sweep interval and SLACK;
- exactly one image object per rendered snapshot in the bucket, none twice;
- at most one message per (snapshot, destination) at the peers, and exactly
  one for every delivery its job reports delivered;
- each killed process is restarted by the supervisor and ready again within
  its first backoff delay plus its readiness timeout; its process tree is gone.
Clients retry a POST answered 502/503 or not answered at all (gateway down)
with the same Idempotency-Key, so a lost answer makes no second snapshot; the
test counts its kills, 202s and retries."""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Iterator

import pytest
import requests

from devstack.processes import Stack, group_alive
from chartsnap.settings import EnvReader
from devstack.supervisor import RestartPolicy, Supervisor
from snapshot_svc.settings import job_bounds_from
from tests.conftest import Peers, add_account, use_peers
from tests.e2e.api_client import Api
from tests.faults.counting import images_per_snapshot, messages_per_delivery

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.timeout(900)]

KILLED_IN_TURN = ("render_svc", "snapshot_svc", "notifier_svc", "gateway", "nats", "s3")
BURST = 8            # snapshots per kill: half before it, half while the process is down
SLACK = 10.0         # seconds of scheduling noise on a shared 2-core machine
TERMINAL = ("complete", "failed")
RETRIED_STATUSES = (502, 503)


@pytest.fixture(scope="module")
def supervised(infra: Stack, peers: Peers) -> Iterator[tuple[Stack, Supervisor, list[str]]]:
    """A whole stack on its own NATS and S3 store, every process supervised."""
    use_peers(infra, peers)
    infra.start_snapshot_svc()
    infra.start_render_svc()
    infra.start_notifier_svc()
    infra.start_gateway()
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        print(line, flush=True)

    supervisor = Supervisor(infra, RestartPolicy(), say).start()
    yield infra, supervisor, said
    supervisor.stop()


class RetryingClient:
    """POST /v1/snapshots as a careful client: retry the same request with the
    same Idempotency-Key while the gateway or the snapshot service is down."""

    def __init__(self, api: Api, give_up_after: float) -> None:
        self.api = api
        self.give_up_after = give_up_after
        self.retries = 0
        self.accepted: list[tuple[dict, float]] = []   # (snapshot, time of its 202)

    def create_snapshot(self, body: dict) -> dict:
        key = uuid.uuid4().hex
        deadline = time.monotonic() + self.give_up_after
        while True:
            try:
                r = self.api.post("/v1/snapshots", json=body, headers={"Idempotency-Key": key}, timeout=15)
                if r.status_code == 202:
                    self.accepted.append((r.json(), time.monotonic()))
                    return r.json()
                assert r.status_code in RETRIED_STATUSES, r.text
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, f"no 202 within {self.give_up_after:.0f}s"
            self.retries += 1
            time.sleep(0.2)


def test_kill_each_process_mid_burst(supervised, peers: Peers) -> None:  # noqa: ANN001, C901
    stack, supervisor, said = supervised
    bounds = job_bounds_from(EnvReader(stack.service_env("snapshot_svc")))
    job_bound = bounds.job_deadline + bounds.sweep_interval + SLACK
    policy = supervisor.policy
    for peer in (peers.slack, peers.hipchat):
        peer.reset()

    api = Api(stack.gateway_url, *add_account(stack))
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "fault.metric", "value": i % 9, "time": now - 60 * i} for i in range(30)]})
    _, chart_id = api.make_chart("Faults", "line", [{"metric": "fault.metric"}])
    destinations = {}
    for kind, peer in (("slack", peers.slack), ("hipchat", peers.hipchat)):
        r = api.post("/v1/services", json={"title": f"{kind} faults", "type": kind, "settings": peer.settings()})
        assert r.status_code == 201, r.text
        destinations[kind] = r.json()["id"]
    marker = f"fault-burst-{uuid.uuid4().hex[:8]}"
    body = {"subject": {"chart": {"id": chart_id, "type": "line"}}, "services": list(destinations.values()),
            "message": marker}

    # A restart is due after the first backoff delay; the slowest to be ready
    # is render_svc (Chromium), whose readiness timeout is the largest.
    restart_bound = policy.first_delay + max(p.spec.ready_timeout for p in stack.processes.values()) + SLACK
    client = RetryingClient(api, give_up_after=restart_bound)
    kills: list[str] = []
    for name in KILLED_IN_TURN:
        for _ in range(BURST // 2):
            client.create_snapshot(body)
        victim = stack.processes[name]
        before = len(supervisor.restarts_of(name))
        os.kill(victim.popen.pid, signal.SIGKILL)
        kills.append(name)
        for _ in range(BURST - BURST // 2):
            client.create_snapshot(body)
        deadline = time.monotonic() + restart_bound
        while not any(r.ready_at for r in supervisor.restarts_of(name)[before:]):
            assert time.monotonic() < deadline, f"{name} not restarted within {restart_bound:.0f}s: {said}"
            time.sleep(0.1)
        restart = supervisor.restarts_of(name)[before]
        assert restart.exit_code == -signal.SIGKILL
        assert not group_alive(victim.popen.pid), f"something of the killed {name} survives"

    # Every 202 terminal within the bound.
    ended: dict[int, tuple[dict, float]] = {}
    pending = {snap["id"]: (snap, at) for snap, at in client.accepted}
    final_deadline = max(at for _, at in client.accepted) + job_bound
    while pending:
        assert time.monotonic() < final_deadline, f"not terminal within {job_bound:.0f}s: {sorted(pending)}"
        for snap_id, (snap, at) in list(pending.items()):
            r = api.get(snap["job_href"], timeout=15)
            job = r.json() if r.status_code == 200 else {"state": "?"}
            if job["state"] in TERMINAL:
                ended[snap_id] = (job, time.monotonic() - at)
                del pending[snap_id]
        time.sleep(0.5)
    slowest = max(took for _, took in ended.values())
    assert slowest <= job_bound

    # One image per rendered snapshot, none twice.
    images = images_per_snapshot(stack)
    snapshot_ids = [snap["id"] for snap, _ in client.accepted]
    assert len(set(snapshot_ids)) == len(snapshot_ids), "a retried POST answered another snapshot"
    listed = api.get("/v1/snapshots", timeout=15).json()["query"]
    assert listed["total"] == len(snapshot_ids), f"a retried POST made a second snapshot: {listed}"
    states = {snap_id: job["state"] for snap_id, (job, _) in ended.items()}
    for snap_id, (job, _) in ended.items():
        assert images.get(snap_id, 0) <= 1
        if job.get("output", {}).get("image_href"):
            assert images.get(snap_id) == 1, f"snapshot {snap_id}: {images.get(snap_id, 0)} images"

    # At most one message per (snapshot, destination); one for each reported delivered.
    time.sleep(1.0)   # a message the notifier just sent is recorded by the peer's own thread
    received = messages_per_delivery({"slack": peers.slack, "hipchat": peers.hipchat}, destinations, marker)
    assert all(count == 1 for count in received.values()), {p: c for p, c in received.items() if c > 1}
    delivered = 0
    for snap_id, (job, _) in ended.items():
        for outcome in job.get("output", {}).get("services", []):
            if outcome["state"] == "delivered":
                delivered += 1
                assert received.get((snap_id, outcome["service_id"])) == 1, (snap_id, outcome)

    print(f"{len(kills)} kills, {len(client.accepted)} 202s, {client.retries} client retries; "
          f"states {sorted(states.values()).count('complete')} complete / "
          f"{sorted(states.values()).count('failed')} failed; slowest job {slowest:.1f}s (bound {job_bound:.0f}s); "
          f"{delivered} delivered, {sum(received.values())} messages; restarts: "
          + ", ".join(f"{r.name} {r.downtime:.1f}s" for r in supervisor.restarts if r.downtime is not None))
    assert kills == list(KILLED_IN_TURN) and len(client.accepted) == BURST * len(KILLED_IN_TURN)
    assert sum(len(supervisor.restarts_of(n)) >= 1 for n in KILLED_IN_TURN) == len(KILLED_IN_TURN)
