"""DeliveryRunner: attempts, waits, the journal, redelivery, scrubbing."""

from __future__ import annotations

import asyncio
import logging
import time
from types import MappingProxyType

import pytest

from notifier_svc.delivery import Delivery
from notifier_svc.delivery_journal import (DELIVERED, FAILED, SENDING, WAITING, DeliveryRecord,
                                           JournalConflict)
from notifier_svc.delivery_runner import DeliveryRunner, Outcome, Postponed
from notifier_svc.notifier import (Attempt, Notifier, PermanentDeliveryError, TransientDeliveryError)
from notifier_svc.retry_policy import RetryPolicy
from tests.unit.notifier.memory_journal import MemoryJournal

POLICY = RetryPolicy(max_attempts=4, max_total_seconds=5.0, base_backoff=0.01, max_backoff=1.0)
DEADLINE = 25.0
SECRET_URL = "https://hooks.example.com/services/T1/B2/s3cr3tPathPart"


class ScriptedNotifier(Notifier):
    """Raises the scripted errors in turn, then succeeds."""

    type = "slack"
    secret_settings = ("url",)

    def __init__(self, *script: Exception, needs_png: bool = False) -> None:
        self.script = list(script)
        self.calls: list[Attempt] = []
        self.needs_png = needs_png

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        self.calls.append(Attempt(attempt.number, attempt.png, set(attempt.steps_done)))
        if self.script:
            raise self.script.pop(0)
        attempt.steps_done.add("done")
        return ""


def delivery(**kw: object) -> Delivery:
    base = dict(delivery_id="5:svc", snapshot_id=5, service_id="svc", type="slack",
                settings=MappingProxyType({"url": SECRET_URL}), image_key="chart/5.png")
    return Delivery(**{**base, **kw})


def runner(notifier: Notifier, journal: MemoryJournal, load_png=None, **kw) -> DeliveryRunner:  # noqa: ANN001
    async def no_png(key: str) -> bytes:
        raise AssertionError("no image wanted")

    return DeliveryRunner({notifier.type: notifier}, journal, kw.pop("policy", POLICY), load_png or no_png,
                          attempt_deadline=DEADLINE, **kw)


async def test_first_attempt_delivers():
    journal, n = MemoryJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 1, "")
    assert journal.states() == [SENDING, DELIVERED]


async def test_transient_errors_are_retried_then_delivered():
    journal, n = MemoryJournal(), ScriptedNotifier(TransientDeliveryError("a"), TransientDeliveryError("b"))
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 3, "")
    assert journal.states() == [SENDING, WAITING, SENDING, WAITING, SENDING, DELIVERED]
    assert [c.number for c in n.calls] == [1, 2, 3]


async def test_permanent_error_ends_after_one_attempt():
    journal, n = MemoryJournal(), ScriptedNotifier(PermanentDeliveryError("slack answered 404: no_service"))
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(False, 1, "slack answered 404: no_service")
    assert journal.states() == [SENDING, FAILED]


async def test_attempts_are_bounded():
    journal = MemoryJournal()
    n = ScriptedNotifier(*[TransientDeliveryError("slack answered 503: busy") for _ in range(10)])
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(False, 4, "slack answered 503: busy; gave up after 4 attempts")
    assert len(n.calls) == 4


async def test_retry_after_is_waited_for():
    journal = MemoryJournal()
    n = ScriptedNotifier(TransientDeliveryError("slack answered 429: rate_limited", retry_after=0.3))
    t = time.monotonic()
    outcome = await runner(n, journal, rand=lambda lo, hi: lo).run(delivery())
    assert outcome.delivered and outcome.attempts == 2
    assert time.monotonic() - t >= 0.3
    waiting = next(w for w in journal.writes if w.state == WAITING)
    assert waiting.not_before - waiting.at == pytest.approx(0.3)


async def test_retry_after_beyond_the_cap_fails_at_once():
    journal = MemoryJournal()
    n = ScriptedNotifier(TransientDeliveryError("hipchat answered 429: slow down", retry_after=3600))
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(False, 1, "hipchat answered 429: slow down; asked to retry after 3600 s, "
                                        "beyond the 1 s limit")


async def test_ended_delivery_is_replayed_without_sending():
    journal, n = MemoryJournal(), ScriptedNotifier()
    journal.put("5:svc", DeliveryRecord(DELIVERED, 2, 1.0, 2.0))
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 2, "", replayed=True)
    assert n.calls == [] and journal.writes == []


async def test_stale_attempt_in_flight_ends_as_interrupted():
    journal, n = MemoryJournal(), ScriptedNotifier()
    journal.put("5:svc", DeliveryRecord(SENDING, 2, time.time() - 100, time.time() - DEADLINE - 1))
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(False, 2, "interrupted during attempt 2; not retried to avoid a duplicate")
    assert n.calls == []
    assert journal.states() == [FAILED]


async def test_recent_attempt_in_flight_is_postponed():
    journal, n = MemoryJournal(), ScriptedNotifier()
    journal.put("5:svc", DeliveryRecord(SENDING, 1, time.time() - 5, time.time() - 5))
    outcome = await runner(n, journal).run(delivery())
    assert isinstance(outcome, Postponed)
    assert outcome.delay == pytest.approx(DEADLINE - 5, abs=0.5)
    assert n.calls == [] and journal.writes == []


async def test_waiting_delivery_goes_on_after_its_wait_with_its_steps():
    journal, n = MemoryJournal(), ScriptedNotifier()
    now = time.time()
    journal.put("5:svc", DeliveryRecord(WAITING, 2, now - 1, now - 0.5, not_before=now + 0.2,
                                        error="busy", steps_done=("text",)))
    t = time.monotonic()
    outcome = await runner(n, journal).run(delivery())
    assert time.monotonic() - t >= 0.15
    assert outcome == Outcome(True, 3, "")
    assert n.calls[0].number == 3 and n.calls[0].steps_done == {"text"}
    assert journal.entries["5:svc"][0].steps_done == ("done", "text")


async def test_stopping_while_waiting_postpones():
    journal, n = MemoryJournal(), ScriptedNotifier()
    now = time.time()
    journal.put("5:svc", DeliveryRecord(WAITING, 1, now, now, not_before=now + 30))
    stopping = asyncio.Event()
    task = asyncio.create_task(runner(n, journal).run(delivery(), stopping))
    await asyncio.sleep(0.05)
    stopping.set()
    outcome = await asyncio.wait_for(task, 1.0)
    assert isinstance(outcome, Postponed) and 29 < outcome.delay <= 30
    assert n.calls == []


async def test_unknown_type_fails_without_an_attempt():
    journal, n = MemoryJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery(type="pager"))
    assert outcome == Outcome(False, 0, "no notifier for service type 'pager'")


async def test_secrets_are_scrubbed_from_errors_and_logs(caplog):
    journal = MemoryJournal()
    n = ScriptedNotifier(TransientDeliveryError(f"POST {SECRET_URL} failed"),
                         PermanentDeliveryError("bad path /services/T1/B2/s3cr3tPathPart"))
    with caplog.at_level(logging.DEBUG):
        outcome = await runner(n, journal).run(delivery())
    assert outcome.error == "bad path [redacted]"
    assert "s3cr3tPathPart" not in caplog.text
    assert all("s3cr3tPathPart" not in w.error for w in journal.writes)


async def test_unexpected_exception_is_permanent_and_scrubbed(caplog):
    journal = MemoryJournal()
    n = ScriptedNotifier(KeyError(f"missing in {SECRET_URL}"))
    with caplog.at_level(logging.DEBUG):
        outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(False, 1, "slack: unexpected failure (KeyError)")
    assert "s3cr3tPathPart" not in caplog.text and "KeyError" in caplog.text


async def test_global_secrets_are_scrubbed_too():
    journal = MemoryJournal()
    n = ScriptedNotifier(PermanentDeliveryError("login with smtp-pa55word refused"))
    outcome = await runner(n, journal, global_secrets=("smtp-pa55word",)).run(delivery())
    assert outcome.error == "login with [redacted] refused"


async def test_the_image_is_read_once_and_its_failure_counts_as_an_attempt_without_sending():
    journal = MemoryJournal()
    reads = []

    async def load_png(key: str) -> bytes:
        reads.append(key)
        if len(reads) == 1:
            raise TransientDeliveryError("the image store could not be read (ConnectionError)")
        return b"png"

    n = ScriptedNotifier(TransientDeliveryError("smtp: no answer within 6 s"), needs_png=True)
    outcome = await runner(n, journal, load_png=load_png).run(delivery())
    assert outcome == Outcome(True, 3, "")
    assert reads == ["chart/5.png", "chart/5.png"], "read again only after a failed read"
    assert [c.png for c in n.calls] == [b"png", b"png"]
    assert journal.states() == [WAITING, SENDING, WAITING, SENDING, DELIVERED]


async def test_a_conflicting_write_rereads_and_follows_the_journal():
    class RacedJournal(MemoryJournal):
        """Another worker ends the delivery just as we try to start it."""

        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            if record.state == SENDING and not self.writes:
                self.put(delivery_id, DeliveryRecord(DELIVERED, 1, 1.0, 2.0))
                self.writes.append(record)
                raise JournalConflict(delivery_id)
            return await super().write(delivery_id, record, revision)

    journal, n = RacedJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 1, "", replayed=True)
    assert n.calls == []


async def test_a_journal_write_whose_answer_was_lost_counts_as_written(monkeypatch):
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_PAUSES", (0.01,))
    class LossyJournal(MemoryJournal):
        """The first SENDING write lands, but its answer never arrives."""

        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            landed = await super().write(delivery_id, record, revision)
            if record.state == SENDING and len(self.writes) == 1:
                raise TimeoutError("nats: timeout")
            return landed

    journal, n = LossyJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 1, "")
    assert journal.states() == [SENDING, DELIVERED] and len(n.calls) == 1


async def test_a_journal_outage_is_ridden_out(monkeypatch):
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_PAUSES", (0.01, 0.01, 0.01))
    class FlakyJournal(MemoryJournal):
        failures = 2

        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            if record.state == DELIVERED and self.failures:
                self.failures -= 1
                raise ConnectionError("nats: connection closed")
            return await super().write(delivery_id, record, revision)

    journal, n = FlakyJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 1, "")
    assert journal.states() == [SENDING, DELIVERED]


async def test_an_attempt_is_cut_off_at_the_attempt_timeout():
    class Stuck(ScriptedNotifier):
        async def send(self, delivery: Delivery, attempt: Attempt) -> str:
            self.calls.append(attempt)
            if len(self.calls) == 1:
                await asyncio.sleep(30)   # ignores its deadline: the runner's backstop ends it
            return ""

    journal, n = MemoryJournal(), Stuck()
    t = time.monotonic()
    outcome = await runner(n, journal, attempt_timeout=0.2).run(delivery())
    took = time.monotonic() - t
    assert outcome == Outcome(True, 2, "")
    assert 0.2 <= took < 0.2 + 5.0, took
    assert n.calls[0].deadline is not None and n.calls[0].deadline <= t + 0.2 + 0.05


async def test_a_journal_outage_is_ridden_out_for_as_long_as_an_election_may_take(monkeypatch):
    """Retries are bounded by time (JOURNAL_RETRY_FOR_S, a JetStream election),
    not by count: an outage of many quick failures — a leaderless ledger
    answers 'no responders' at once — still ends in the DELIVERED record."""
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_PAUSES", (0.001,))
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_FOR_S", 0.5)

    class LeaderlessJournal(MemoryJournal):
        failures = 40  # 40 × 1 ms of pauses: far more tries than the pauses list, well within 0.5 s

        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            if record.state == DELIVERED and self.failures:
                self.failures -= 1
                raise ConnectionError("nats: no responders available for request")
            return await super().write(delivery_id, record, revision)

    journal, n = LeaderlessJournal(), ScriptedNotifier()
    outcome = await runner(n, journal).run(delivery())
    assert outcome == Outcome(True, 1, "")
    assert journal.states() == [SENDING, DELIVERED] and journal.failures == 0


async def test_a_journal_write_gives_up_once_the_election_bound_has_passed(monkeypatch):
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_PAUSES", (0.01,))
    monkeypatch.setattr("notifier_svc.delivery_runner.JOURNAL_RETRY_FOR_S", 0.2)

    class DownJournal(MemoryJournal):
        async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
            if record.state == DELIVERED:
                raise ConnectionError("nats: connection closed")
            return await super().write(delivery_id, record, revision)

    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await runner(ScriptedNotifier(), DownJournal()).run(delivery())
    assert 0.2 - 0.01 <= time.monotonic() - started < 0.2 + 5.0  # the bound, plus scheduling noise
