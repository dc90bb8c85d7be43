"""The Grafana dashboard against the live stack: every metric its queries name
is exported by some service's /metrics (every replica scraped), and the
notifier's delivery series move by exactly the deliveries one snapshot made.
(tests/e2e/test_metrics.py checks the other services' timings of a snapshot;
tests/unit/test_dashboard_queries.py the PromQL reader itself.)"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections import Counter

import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chartsnap import queue
from chartsnap.budgets import NOTIFY_ATTEMPT_TIMEOUT_S, NOTIFY_MAX_TOTAL_S
from devstack.processes import Stack
from devstack.replicas import BOUND_ADDRESSES, reachable
from tests.dashboard_queries import exported_metrics, is_exported, load_dashboard, metric_refs, queries
from tests.e2e.api_client import Api

# Bound on the stack settling before the counts start: the longest delivery
# a test before this one could have left running (its retries, its last
# attempt), with a margin.
IDLE_BOUND_S = NOTIFY_MAX_TOTAL_S + NOTIFY_ATTEMPT_TIMEOUT_S + 10.0
pytestmark = [pytest.mark.stack, pytest.mark.timeout(IDLE_BOUND_S + 120)]

# Where each service serves /metrics; a replicated service's variable is one
# of the addresses each replica gets its own port for.
METRICS_VARIABLES = {
    "gateway": "CHARTSNAP_GATEWAY_METRICS_ADDR",
    "snapshot_svc": "CHARTSNAP_SNAPSHOT_METRICS_ADDR",
    "render_svc": "CHARTSNAP_RENDER_METRICS_ADDR",
    "notifier_svc": "CHARTSNAP_NOTIFIER_METRICS_ADDR",
}
# The work queues that lead to deliveries: render requests, their results (the
# snapshot service then asks for the deliveries), delivery requests.
UPSTREAM_CONSUMERS = ((queue.RENDER_STREAM, queue.RENDER_WORKERS), (queue.RESULTS_STREAM, queue.SNAPSHOT_RESULTS),
                      (queue.DELIVERY_STREAM, queue.NOTIFIER_WORKERS))
# The notifier's series whose values count deliveries (histogram buckets and
# sums are left out: they follow the counts, and a sum is not a count).
COUNTED = ("chartsnap_deliveries_total", "chartsnap_delivery_attempts_total", "chartsnap_delivery_replays_total",
           "chartsnap_delivery_interruptions_total", "chartsnap_delivery_postponements_total",
           "chartsnap_delivery_journal_write_retries_total", "chartsnap_delivery_duration_seconds_count",
           "chartsnap_delivery_attempt_seconds_count", "chartsnap_deliveries_in_flight")

# (name, sorted labels) -> value, summed over the replicas
Samples = Counter[tuple[str, tuple[tuple[str, str], ...]]]


def metrics_addresses(stack: Stack) -> dict[str, str]:
    """Replica name -> where its /metrics is, for every process of every service."""
    found = {}
    for service, variable in METRICS_VARIABLES.items():
        assert service == "gateway" or variable in BOUND_ADDRESSES[service], \
            f"{variable}: each replica of {service} needs a port of its own"
        for name in stack.replica_names(service):
            found[name] = reachable(stack.service_env(name)[variable])
    return found


def exposition(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain")
        return reply.read().decode()


def notifier_samples(stack: Stack) -> Samples:
    samples: Samples = Counter()
    for name in stack.replica_names("notifier_svc"):
        text = exposition(metrics_addresses(stack)[name])
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name in COUNTED:
                    samples[(s.name, tuple(sorted(s.labels.items())))] += s.value
    return samples


async def wait_until_idle(stack: Stack) -> None:
    """Named, bounded wait: no message waiting or being worked on in the
    queues that lead to a delivery, and no delivery in flight."""
    nc = await nats.connect(stack.nats_servers, **stack.nats_admin_options)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + IDLE_BOUND_S
        while True:
            busy = []
            for stream, durable in UPSTREAM_CONSUMERS:
                info = await js.consumer_info(stream, durable)
                if info.num_pending or info.num_ack_pending:
                    busy.append(f"{durable}: {info.num_pending} pending, {info.num_ack_pending} being worked on")
            in_flight = sum(v for (name, _), v in notifier_samples(stack).items()
                            if name == "chartsnap_deliveries_in_flight")
            if in_flight:
                busy.append(f"{in_flight:g} deliveries in flight")
            if not busy:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not go idle within {IDLE_BOUND_S:g} s: {'; '.join(busy)}")
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def moved(before: Samples, after: Samples) -> dict[str, float]:
    keys = set(before) | set(after)
    return {f"{name}{dict(labels)}": after[(name, labels)] - before[(name, labels)]
            for name, labels in sorted(keys) if after[(name, labels)] != before[(name, labels)]}


def key(name: str, **labels: str) -> str:
    return f"{name}{dict(sorted(labels.items()))}"


async def test_the_notifier_counts_exactly_the_deliveries_of_one_snapshot(
        stack: Stack, api: Api, peers) -> None:  # noqa: ANN001
    for peer in (peers.smtp, peers.slack, peers.hipchat):
        peers.running.run(_reset(peer))
    _, chart_id = api.make_chart("Dashboard", "line", [{"metric": "dashboard.test"}])
    services = {}
    for kind, settings in (("mail", {"addresses": "oncall@example.com"}), ("slack", peers.slack.settings()),
                           ("hipchat", peers.hipchat.settings())):
        r = api.post("/v1/services", json={"title": f"{kind} room", "type": kind, "settings": settings})
        assert r.status_code == 201, r.text
        services[kind] = r.json()["id"]
    await wait_until_idle(stack)
    before = notifier_samples(stack)

    peers.slack.fail_next(1, 503, retry_after=1)                   # retried once, then delivered
    peers.hipchat.fail_next(1, 401, words="Invalid OAuth session")  # permanent: one attempt, failed
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "services": list(services.values())})
    assert created.status_code == 202, created.text
    job = api.wait_for_job(created.json()["job_href"])
    assert job["state"] == "complete", job
    outcomes = {o["type"]: (o["state"], o["attempts"]) for o in job["output"]["services"]}
    assert outcomes == {"mail": ("delivered", 1), "slack": ("delivered", 2), "hipchat": ("failed", 1)}

    # The job completes only after each delivery's result: its counts are in.
    after = notifier_samples(stack)
    deliveries, attempts, took, attempt_took = ("chartsnap_deliveries_total", "chartsnap_delivery_attempts_total",
                                                "chartsnap_delivery_duration_seconds_count",
                                                "chartsnap_delivery_attempt_seconds_count")
    assert moved(before, after) == {
        key(deliveries, type="mail", outcome="delivered"): 1,
        key(deliveries, type="slack", outcome="delivered"): 1,
        key(deliveries, type="hipchat", outcome="failed"): 1,
        key(attempts, type="mail", result="delivered"): 1,
        key(attempts, type="slack", result="transient_error"): 1,
        key(attempts, type="slack", result="delivered"): 1,
        key(attempts, type="hipchat", result="permanent_error"): 1,
        key(took, type="mail"): 1, key(took, type="slack"): 1, key(took, type="hipchat"): 1,
        key(attempt_took, type="mail"): 1, key(attempt_took, type="slack"): 2, key(attempt_took, type="hipchat"): 1,
    }


def test_every_dashboard_query_names_only_exported_metrics(stack: Stack) -> None:
    addresses = metrics_addresses(stack)
    exported = {name: exported_metrics(exposition(address)) for name, address in addresses.items()}
    everything = {metric: kind for found in exported.values() for metric, kind in found.items()}
    shown: set[str] = set()      # the processes whose own (chartsnap_*) metrics a panel shows
    checked = 0
    for title, expr in queries(load_dashboard()):
        refs = metric_refs(expr)
        assert refs, (title, expr)
        for ref in refs:
            assert is_exported(ref, everything), (
                f"panel {title!r} names {ref.series}, which no service exports: {expr}")
            if ref.metric.startswith("chartsnap_"):
                shown.update(name for name, found in exported.items() if is_exported(ref, found))
            checked += 1
    assert checked >= 30
    assert shown == set(addresses), f"no panel shows the metrics of {set(addresses) - shown}"


async def _reset(peer) -> None:  # noqa: ANN001
    peer.messages.clear()
    if hasattr(peer, "reset"):
        peer.reset()
