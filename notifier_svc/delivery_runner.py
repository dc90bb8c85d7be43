"""One delivery from start to end: its attempts, the waits between them and
the journal entries that make redelivery safe.

Per attempt the journal first says SENDING (compare-and-set, so only one
worker can start it), then WAITING, DELIVERED or FAILED. A queue message
that comes back finds one of these:
  nothing / WAITING  → go on with the attempts (after the wait still due);
  DELIVERED / FAILED → nothing is sent, the same outcome is reported again;
  SENDING, recent    → another worker may still be in that attempt: postpone;
  SENDING, stale     → its worker died mid-attempt; we cannot know whether
                       the peer got it, so the delivery ends as failed rather
                       than risk a second message."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import traceback
from dataclasses import dataclass, replace
from typing import Awaitable, Callable, Mapping

from chartsnap import logs
from chartsnap.budgets import JETSTREAM_ELECTION_BOUND_S
from notifier_svc.delivery import Delivery
from notifier_svc.delivery_journal import (DELIVERED, FAILED, SENDING, WAITING, DeliveryRecord, Journal,
                                           JournalConflict)
from notifier_svc.notifier import (Attempt, DeliveryError, Notifier, PermanentDeliveryError,
                                   TransientDeliveryError)
from notifier_svc.retry_policy import RetryPolicy
from notifier_svc.secret_scrub import Scrubber

log = logging.getLogger(__name__)

# Setting names that hold credentials whatever the type says, so that even an
# unknown or misdeclared type cannot leak them into an error text.
ALWAYS_SECRET = ("url", "auth_token", "api_token", "token", "password")
MAX_JOURNAL_CONFLICTS = 10
# A journal write that fails (NATS unreachable, or the ledger's stream without
# a leader while a cluster elects one) is tried again after these pauses, the
# last repeated, for as long as a JetStream election may take: a write given up
# too soon leaves a sent message reading as an interrupted attempt.
JOURNAL_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
JOURNAL_RETRY_FOR_S = JETSTREAM_ELECTION_BOUND_S
# How long past an attempt's deadline the runner waits for the notifier to
# keep to it before cutting the attempt off itself.
BACKSTOP_GRACE = 0.5


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    error: str = ""            # the reason when failed; a remark (if any) when delivered
    replayed: bool = False     # the journal already held the end: nothing was sent now


# Why a delivery was handed back (Postponed.cause): a label, not prose.
ATTEMPT_ELSEWHERE = "attempt_elsewhere"    # a recent SENDING entry: another worker may be in that attempt
STOPPING = "stopping"
JOURNAL_CONFLICTS = "journal_conflicts"    # the entry kept changing under us

# How one attempt went (DeliveryObserver.attempted).
ATTEMPT_DELIVERED = "delivered"
ATTEMPT_TRANSIENT_ERROR = "transient_error"   # may be retried, if the policy allows
ATTEMPT_PERMANENT_ERROR = "permanent_error"


@dataclass(frozen=True)
class Postponed:
    """Not ours to finish now; hand the message back to the queue for `delay` s."""

    delay: float
    reason: str
    cause: str      # one of the causes above


class DeliveryObserver:
    """What the runner tells about the deliveries it runs, for counting
    (notifier_svc.delivery_metrics); this one ignores it all. Times are
    time.monotonic() seconds, whatever clock the runner's journal uses."""

    def taken(self, d: Delivery) -> None:
        """run() began."""

    def attempted(self, d: Delivery, result: str, seconds: float) -> None:
        """One attempt ended (`result`: ATTEMPT_*), the image read included."""

    def interrupted(self, d: Delivery) -> None:
        """A stale SENDING entry was found: the delivery ends as failed, not retried."""

    def journal_write_retried(self, d: Delivery) -> None:
        """A journal write failed (NATS trouble) and is tried again."""

    def finished(self, d: Delivery, result: "Outcome | Postponed | BaseException", seconds: float) -> None:
        """run() returned `result`, or raised it, `seconds` after it began."""


class DeliveryRunner:
    def __init__(self, notifiers: Mapping[str, Notifier], journal: Journal, policy: RetryPolicy,
                 load_png: Callable[[str], Awaitable[bytes]], *, attempt_deadline: float,
                 attempt_timeout: float | None = None,
                 global_secrets: tuple[str, ...] = (), global_pairs: tuple[tuple[str, str], ...] = (),
                 clock: Callable[[], float] = time.time,
                 rand: Callable[[float, float], float] = random.uniform,
                 observer: DeliveryObserver | None = None) -> None:
        self.notifiers = notifiers
        self.journal = journal
        self.policy = policy
        self.load_png = load_png
        # A SENDING entry younger than this may belong to a live worker.
        self.attempt_deadline = attempt_deadline
        # One attempt (image read and send) never runs longer than this.
        self.attempt_timeout = attempt_timeout
        self.global_secrets = global_secrets
        self.global_pairs = global_pairs
        self.clock = clock
        self.rand = rand
        self.observer = observer or DeliveryObserver()

    def scrubber_for(self, d: Delivery) -> Scrubber:
        notifier = self.notifiers.get(d.type)
        names = set(ALWAYS_SECRET) | set(notifier.secret_settings if notifier else ())
        pairs = (*(notifier.credential_pairs(d) if notifier else ()), *self.global_pairs)
        return Scrubber([*(d.settings.get(n, "") for n in names), *self.global_secrets], pairs)

    async def run(self, d: Delivery, stopping: asyncio.Event | None = None) -> Outcome | Postponed:
        self.observer.taken(d)
        began = time.monotonic()
        try:
            result = await self._run(d, stopping or asyncio.Event())
        except BaseException as exc:
            self.observer.finished(d, exc, time.monotonic() - began)
            raise
        self.observer.finished(d, result, time.monotonic() - began)
        return result

    async def _run(self, d: Delivery, stopping: asyncio.Event) -> Outcome | Postponed:
        scrub = self.scrubber_for(d)
        png: bytes | None = None
        record, revision = await self.journal.read(d.delivery_id)
        conflicts = 0
        while True:
            try:
                now = self.clock()
                if record is not None and record.ended:
                    return Outcome(record.state == DELIVERED, record.attempts, record.error, replayed=True)

                if record is not None and record.state == SENDING:
                    age = now - record.at
                    if age < self.attempt_deadline:
                        return Postponed(self.attempt_deadline - age,
                                         f"attempt {record.attempts} may still be running elsewhere",
                                         ATTEMPT_ELSEWHERE)
                    self.observer.interrupted(d)
                    error = f"interrupted during attempt {record.attempts}; not retried to avoid a duplicate"
                    log.warning("delivery %s (%s, service %s): %s", d.delivery_id, d.type, d.service_id, error)
                    record, revision = await self._end(d, record, revision, FAILED, record.attempts, error)
                    return _outcome_of(record)

                notifier = self.notifiers.get(d.type)
                if notifier is None:
                    attempts = record.attempts if record else 0
                    record, revision = await self._end(d, record, revision, FAILED, attempts,
                                                       f"no notifier for service type {d.type!r}")
                    return _outcome_of(record)

                if record is not None and record.state == WAITING and record.not_before > now:
                    if await _wait_or_stop(record.not_before - now, stopping):
                        return Postponed(max(0.0, record.not_before - self.clock()), "the service is stopping",
                                         STOPPING)
                    continue

                if stopping.is_set():
                    return Postponed(0.5, "the service is stopping", STOPPING)
                record, revision, png = await self._attempt(d, notifier, record, revision, png, scrub)
                if record.ended:
                    return _outcome_of(record)
            except JournalConflict:
                conflicts += 1
                if conflicts > MAX_JOURNAL_CONFLICTS:
                    return Postponed(1.0, "the journal keeps changing under us", JOURNAL_CONFLICTS)
                record, revision = await self.journal.read(d.delivery_id)

    async def _attempt(self, d: Delivery, notifier: Notifier, record: DeliveryRecord | None, revision: int,
                       png: bytes | None, scrub: Scrubber) -> tuple[DeliveryRecord, int, bytes | None]:
        number = (record.attempts if record else 0) + 1
        began = time.monotonic()
        started = self.clock()
        first = record.first_attempt_at if record else started
        steps = set(record.steps_done) if record else set()
        error: DeliveryError | None = None
        remark = ""
        deadline = None if self.attempt_timeout is None else time.monotonic() + self.attempt_timeout
        limit = f"{self.attempt_timeout:g} s" if self.attempt_timeout is not None else ""

        # The image is read before the attempt is marked as sending: failing
        # to read it cannot have sent anything.
        if notifier.needs_png and png is None:
            try:
                png = await _within(deadline, self.load_png(d.image_key),
                                    f"the image store did not answer within {limit}")
            except DeliveryError as exc:
                error = exc
        if error is None:
            sending = DeliveryRecord(SENDING, number, first, started, steps_done=tuple(sorted(steps)))
            revision = await self._write(d, sending, revision)
            record = sending
            attempt = Attempt(number=number, png=png, steps_done=steps, deadline=deadline)
            try:
                # The notifiers keep to the deadline themselves; this is the
                # backstop, a little later so that theirs fires first.
                remark = await _within(None if deadline is None else deadline + BACKSTOP_GRACE,
                                       notifier.send(d, attempt),
                                       f"{d.type}: the attempt took longer than {limit}")
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - a bug here must end the delivery, not loop on it
                log.error("%s notifier failed unexpectedly on %s: %s: %s\n%s", d.type, d.delivery_id,
                          type(exc).__name__, scrub(str(exc)), "".join(traceback.format_tb(exc.__traceback__)))
                error = PermanentDeliveryError(f"{d.type}: unexpected failure ({type(exc).__name__})")

        self.observer.attempted(d, _attempt_result(error), time.monotonic() - began)
        if error is None:
            log.info("delivery %s (%s, service %s) delivered on attempt %s", d.delivery_id, d.type,
                     d.service_id, number)
            rec, rev = await self._end(d, record, revision, DELIVERED, number, scrub(remark or ""), first, steps)
            return rec, rev, png

        message = scrub(error.message)
        if isinstance(error, TransientDeliveryError):
            elapsed = self.clock() - first
            delay = self.policy.next_delay(number, elapsed, error.retry_after, self.rand)
            if delay is not None:
                log.warning("delivery %s (%s, service %s) attempt %s failed, retrying in %.2f s: %s",
                            d.delivery_id, d.type, d.service_id, number, delay, message)
                now = self.clock()
                waiting = DeliveryRecord(WAITING, number, first, now, not_before=now + delay, error=message,
                                         steps_done=tuple(sorted(steps)))
                revision = await self._write(d, waiting, revision)
                return waiting, revision, png
            message = f"{message}; {self._why_stopped(number, elapsed, error.retry_after)}"
        log.warning("delivery %s (%s, service %s) failed after %s attempt(s): %s", d.delivery_id, d.type,
                    d.service_id, number, message)
        rec, rev = await self._end(d, record, revision, FAILED, number, message, first, steps)
        return rec, rev, png

    def _why_stopped(self, attempts: int, elapsed: float, retry_after: float | None) -> str:
        p = self.policy
        if p.max_attempts is not None and attempts >= p.max_attempts:
            return f"gave up after {attempts} attempts"
        if retry_after is not None and retry_after > p.max_backoff:
            return f"asked to retry after {retry_after:g} s, beyond the {p.max_backoff:g} s limit"
        if retry_after is not None and elapsed + retry_after > p.max_total_seconds:
            return (f"asked to retry after {retry_after:g} s, beyond the {p.max_total_seconds:g} s "
                    f"retry budget (attempt {attempts})")
        return f"gave up after {attempts} attempts within {p.max_total_seconds:g} s"

    async def _end(self, d: Delivery, record: DeliveryRecord | None, revision: int, state: str, attempts: int,
                   error: str, first: float | None = None, steps: set[str] | None = None
                   ) -> tuple[DeliveryRecord, int]:
        now = self.clock()
        base = record or DeliveryRecord(state, attempts, first or now, now)
        final = replace(base, state=state, attempts=attempts, at=now, not_before=0.0, error=error,
                        first_attempt_at=first or base.first_attempt_at,
                        steps_done=tuple(sorted(steps)) if steps is not None else base.steps_done)
        return final, await self._write(d, final, revision)

    async def _write(self, d: Delivery, record: DeliveryRecord, revision: int) -> int:
        """Write, riding out a short journal outage: an entry lost after a
        send would later read as an interrupted attempt. When a write's answer
        is lost but the write itself landed, the journal already holds our
        very record (timestamps included), and that counts as written."""
        give_up_at = time.monotonic() + JOURNAL_RETRY_FOR_S
        for tries in itertools.count():
            try:
                return await self.journal.write(d.delivery_id, record, revision)
            except JournalConflict:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS trouble; try again shortly
                pause = JOURNAL_RETRY_PAUSES[min(tries, len(JOURNAL_RETRY_PAUSES) - 1)]
                if time.monotonic() + pause > give_up_at:
                    raise
                log.warning("journal write for %s failed, retrying in %.1f s: %s", d.delivery_id, pause,
                            logs.failure(exc))  # never an empty reason (a bare TimeoutError)
                self.observer.journal_write_retried(d)
                await asyncio.sleep(pause)
                try:
                    current, current_revision = await self.journal.read(d.delivery_id)
                except Exception:  # noqa: BLE001 - still down; the next write try will tell
                    continue
                if current == record:
                    return current_revision
        raise AssertionError("unreachable")


async def _within(deadline: float | None, work: Awaitable, words: str):  # noqa: ANN202
    """`work`, cut off at `deadline` (time.monotonic()) as a transient failure."""
    if deadline is None:
        return await work
    try:
        return await asyncio.wait_for(work, timeout=max(0.0, deadline - time.monotonic()))
    except asyncio.TimeoutError:
        raise TransientDeliveryError(words) from None


def _attempt_result(error: DeliveryError | None) -> str:
    if error is None:
        return ATTEMPT_DELIVERED
    return ATTEMPT_TRANSIENT_ERROR if isinstance(error, TransientDeliveryError) else ATTEMPT_PERMANENT_ERROR


def _outcome_of(record: DeliveryRecord) -> Outcome:
    return Outcome(record.state == DELIVERED, record.attempts, record.error)


async def _wait_or_stop(seconds: float, stopping: asyncio.Event) -> bool:
    """Sleep `seconds`; True if `stopping` was set meanwhile."""
    try:
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
        return True
    except asyncio.TimeoutError:
        return False
