"""DeliveryMetrics: what the runner reports becomes the notifier's Prometheus
series (deliveries by type and outcome, attempts, latency, in flight, the
journal's replays and interruptions, postponements), and the metrics address
setting."""

from __future__ import annotations

import asyncio
import time
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from chartsnap.budgets import NOTIFY_ATTEMPT_TIMEOUT_S, NOTIFY_MAX_TOTAL_S
from chartsnap.metrics import serve_metrics
from chartsnap.settings import SettingsError
from notifier_svc.delivery_journal import DELIVERED, FAILED, SENDING, WAITING, DeliveryRecord
from notifier_svc.delivery_metrics import ATTEMPT_BUCKETS, DELIVERY_BUCKETS, DeliveryMetrics
from notifier_svc.delivery_runner import Outcome, Postponed
from notifier_svc.notifier import PermanentDeliveryError, TransientDeliveryError
from notifier_svc.settings import DEFAULT_METRICS_ADDR, NotifierSettings
from tests.unit.notifier.memory_journal import MemoryJournal
from tests.unit.notifier.test_delivery_runner import DEADLINE, ScriptedNotifier, delivery, runner


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counts:
    """Samples of the notifier's series before and after, as deltas."""

    SERIES = [
        *[("chartsnap_deliveries_total", dict(type=t, outcome=o))
          for t in ("slack", "unknown") for o in ("delivered", "failed")],
        *[("chartsnap_delivery_attempts_total", dict(type="slack", result=r))
          for r in ("delivered", "transient_error", "permanent_error")],
        *[("chartsnap_delivery_replays_total", dict(type="slack", outcome=o)) for o in ("delivered", "failed")],
        ("chartsnap_delivery_interruptions_total", dict(type="slack")),
        *[("chartsnap_delivery_postponements_total", dict(type="slack", cause=c))
          for c in ("attempt_elsewhere", "stopping", "journal_conflicts", "journal_unreachable")],
        ("chartsnap_delivery_duration_seconds_count", dict(type="slack")),
        ("chartsnap_delivery_attempt_seconds_count", dict(type="slack")),
        ("chartsnap_delivery_journal_write_retries_total", {}),
        ("chartsnap_deliveries_in_flight", dict(type="slack")),
    ]

    def __init__(self) -> None:
        self.before = self._read()

    def _read(self) -> dict[str, float]:
        return {self._key(n, l): sample(n, **l) for n, l in self.SERIES}

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> str:
        return name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"

    def moved(self) -> dict[str, float]:
        after = self._read()
        return {k: after[k] - self.before[k] for k in after if after[k] != self.before[k]}


def metered(notifier, journal, **kw):  # noqa: ANN001, ANN201
    return runner(notifier, journal, observer=DeliveryMetrics(["slack", "mail"]), **kw)


async def test_a_first_attempt_delivery_counts_one_delivery_and_one_attempt():
    counts = Counts()
    outcome = await metered(ScriptedNotifier(), MemoryJournal()).run(delivery())
    assert outcome == Outcome(True, 1, "")
    assert counts.moved() == {
        "chartsnap_deliveries_total{outcome=delivered,type=slack}": 1,
        "chartsnap_delivery_attempts_total{result=delivered,type=slack}": 1,
        "chartsnap_delivery_duration_seconds_count{type=slack}": 1,
        "chartsnap_delivery_attempt_seconds_count{type=slack}": 1,
    }


async def test_retries_count_each_attempt_by_result_and_the_delivery_once():
    counts = Counts()
    n = ScriptedNotifier(TransientDeliveryError("503"), TransientDeliveryError("503"))
    assert await metered(n, MemoryJournal()).run(delivery()) == Outcome(True, 3, "")
    assert counts.moved() == {
        "chartsnap_deliveries_total{outcome=delivered,type=slack}": 1,
        "chartsnap_delivery_attempts_total{result=transient_error,type=slack}": 2,
        "chartsnap_delivery_attempts_total{result=delivered,type=slack}": 1,
        "chartsnap_delivery_duration_seconds_count{type=slack}": 1,
        "chartsnap_delivery_attempt_seconds_count{type=slack}": 3,
    }


async def test_a_permanent_error_counts_a_failed_delivery():
    counts = Counts()
    n = ScriptedNotifier(PermanentDeliveryError("404"))
    assert (await metered(n, MemoryJournal()).run(delivery())).delivered is False
    assert counts.moved() == {
        "chartsnap_deliveries_total{outcome=failed,type=slack}": 1,
        "chartsnap_delivery_attempts_total{result=permanent_error,type=slack}": 1,
        "chartsnap_delivery_duration_seconds_count{type=slack}": 1,
        "chartsnap_delivery_attempt_seconds_count{type=slack}": 1,
    }


async def test_the_delivery_latency_is_the_whole_run_including_waits():
    before = sample("chartsnap_delivery_duration_seconds_sum", type="slack")
    journal = MemoryJournal()
    now = time.time()
    journal.put("5:svc", DeliveryRecord(WAITING, 1, now, now, not_before=now + 0.3))
    began = time.monotonic()
    await metered(ScriptedNotifier(), journal).run(delivery())
    took = time.monotonic() - began
    observed = sample("chartsnap_delivery_duration_seconds_sum", type="slack") - before
    assert 0.25 <= observed <= took


async def test_an_ended_delivery_coming_back_is_a_replay_not_a_second_delivery():
    counts = Counts()
    journal = MemoryJournal()
    journal.put("5:svc", DeliveryRecord(FAILED, 2, 1.0, 2.0, error="no"))
    assert (await metered(ScriptedNotifier(), journal).run(delivery())).replayed
    journal.put("6:svc", DeliveryRecord(DELIVERED, 1, 1.0, 2.0))
    assert (await metered(ScriptedNotifier(), journal).run(delivery(delivery_id="6:svc"))).replayed
    assert counts.moved() == {"chartsnap_delivery_replays_total{outcome=failed,type=slack}": 1,
                              "chartsnap_delivery_replays_total{outcome=delivered,type=slack}": 1}


async def test_a_stale_attempt_counts_an_interruption_and_a_failed_delivery():
    counts = Counts()
    journal = MemoryJournal()
    journal.put("5:svc", DeliveryRecord(SENDING, 2, time.time() - 100, time.time() - DEADLINE - 1))
    assert (await metered(ScriptedNotifier(), journal).run(delivery())).delivered is False
    assert counts.moved() == {"chartsnap_delivery_interruptions_total{type=slack}": 1,
                              "chartsnap_deliveries_total{outcome=failed,type=slack}": 1,
                              "chartsnap_delivery_duration_seconds_count{type=slack}": 1}


async def test_postponements_count_by_cause():
    counts = Counts()
    journal = MemoryJournal()
    journal.put("5:svc", DeliveryRecord(SENDING, 1, time.time() - 5, time.time() - 5))
    assert isinstance(await metered(ScriptedNotifier(), journal).run(delivery()), Postponed)
    stopping = asyncio.Event()
    stopping.set()
    assert isinstance(await metered(ScriptedNotifier(), MemoryJournal()).run(delivery(), stopping), Postponed)

    class Unreachable(MemoryJournal):
        async def read(self, delivery_id: str):  # noqa: ANN201
            raise TimeoutError("nats: timeout")

    with pytest.raises(TimeoutError):
        await metered(ScriptedNotifier(), Unreachable()).run(delivery())
    assert counts.moved() == {
        "chartsnap_delivery_postponements_total{cause=attempt_elsewhere,type=slack}": 1,
        "chartsnap_delivery_postponements_total{cause=stopping,type=slack}": 1,
        "chartsnap_delivery_postponements_total{cause=journal_unreachable,type=slack}": 1,
    }


async def test_a_journal_write_retried_is_counted(monkeypatch):
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_PAUSES", (0.01,))

    class Flaky(MemoryJournal):
        failed = False

        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            if record.state == DELIVERED and not self.failed:
                self.failed = True
                raise TimeoutError("nats: timeout")
            return await super().write(delivery_id, record, revision)

    counts = Counts()
    assert (await metered(ScriptedNotifier(), Flaky()).run(delivery())).delivered
    assert counts.moved()["chartsnap_delivery_journal_write_retries_total{}"] == 1


async def test_an_unknown_type_is_one_series_whatever_its_name():
    counts = Counts()
    for kind in ("pager", "x" * 200):
        await metered(ScriptedNotifier(), MemoryJournal()).run(delivery(type=kind))
    assert counts.moved() == {"chartsnap_deliveries_total{outcome=failed,type=unknown}": 2}
    assert REGISTRY.get_sample_value("chartsnap_deliveries_total", {"type": "pager", "outcome": "failed"}) is None


async def test_in_flight_counts_a_delivery_while_it_waits_to_retry():
    journal = MemoryJournal()
    now = time.time()
    journal.put("5:svc", DeliveryRecord(WAITING, 1, now, now, not_before=now + 30))
    before = sample("chartsnap_deliveries_in_flight", type="slack")
    stopping = asyncio.Event()
    task = asyncio.create_task(metered(ScriptedNotifier(), journal).run(delivery(), stopping))
    try:
        await asyncio.wait_for(_until(lambda: sample("chartsnap_deliveries_in_flight", type="slack") == before + 1),
                               timeout=2.0)
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=2.0)
    assert sample("chartsnap_deliveries_in_flight", type="slack") == before


async def _until(condition) -> None:  # noqa: ANN001
    while not condition():
        await asyncio.sleep(0.01)


def test_known_types_export_zeros_from_the_start():
    DeliveryMetrics(["campfire"])
    server = serve_metrics("127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    finally:
        server.close()
    samples = {(s.name, tuple(sorted(s.labels.items())))
               for family in text_string_to_metric_families(text) for s in family.samples}
    for outcome in ("delivered", "failed"):
        assert ("chartsnap_deliveries_total", (("outcome", outcome), ("type", "campfire"))) in samples
    assert ("chartsnap_delivery_attempts_total", (("result", "transient_error"), ("type", "campfire"))) in samples
    assert ("chartsnap_delivery_duration_seconds_bucket", (("le", "+Inf"), ("type", "campfire"))) in samples
    assert ("chartsnap_deliveries_in_flight", (("type", "campfire"),)) in samples


def test_buckets_reach_the_budgets():
    assert NOTIFY_ATTEMPT_TIMEOUT_S in ATTEMPT_BUCKETS and max(ATTEMPT_BUCKETS) == NOTIFY_ATTEMPT_TIMEOUT_S
    assert {NOTIFY_ATTEMPT_TIMEOUT_S, NOTIFY_MAX_TOTAL_S, NOTIFY_MAX_TOTAL_S + NOTIFY_ATTEMPT_TIMEOUT_S} <= set(
        DELIVERY_BUCKETS)
    assert list(DELIVERY_BUCKETS) == sorted(set(DELIVERY_BUCKETS))


def test_the_metrics_address_setting():
    assert NotifierSettings.from_env({}).metrics_addr == DEFAULT_METRICS_ADDR == "127.0.0.1:9103"
    assert NotifierSettings.from_env({"CHARTSNAP_NOTIFIER_METRICS_ADDR": "0.0.0.0:9"}).metrics_addr == "0.0.0.0:9"
    with pytest.raises(SettingsError, match="CHARTSNAP_NOTIFIER_METRICS_ADDR"):
        NotifierSettings.from_env({"CHARTSNAP_NOTIFIER_METRICS_ADDR": "nowhere"})
