"""Prometheus metrics of the notifier: deliveries by type and outcome, their
attempts, how long they take, how many run now, and what the journal made of
redelivered messages. Served on CHARTSNAP_NOTIFIER_METRICS_ADDR
(chartsnap.metrics.serve_metrics); counted by DeliveryMetrics, the runner's
observer, so the runner itself knows nothing of Prometheus.

A delivery is counted once in chartsnap_deliveries_total, when it ends; a
message that comes back after that (a worker died between the journal's end
and the ack) is counted in chartsnap_delivery_replays_total instead, since
nothing is sent again."""

from __future__ import annotations

from typing import Iterable

from prometheus_client import Counter, Gauge, Histogram

from chartsnap.budgets import JETSTREAM_ELECTION_BOUND_S, NOTIFY_ATTEMPT_TIMEOUT_S, NOTIFY_MAX_TOTAL_S
from notifier_svc.delivery import Delivery
from notifier_svc.delivery_runner import (ATTEMPT_DELIVERED, ATTEMPT_ELSEWHERE, ATTEMPT_PERMANENT_ERROR,
                                          ATTEMPT_TRANSIENT_ERROR, JOURNAL_CONFLICTS, STOPPING,
                                          DeliveryObserver, Outcome, Postponed)

DELIVERED, FAILED = "delivered", "failed"
OUTCOMES = (DELIVERED, FAILED)
ATTEMPT_RESULTS = (ATTEMPT_DELIVERED, ATTEMPT_TRANSIENT_ERROR, ATTEMPT_PERMANENT_ERROR)
# The runner raised: the journal (NATS KV) could not be read or written; the
# worker hands the message back.
JOURNAL_UNREACHABLE = "journal_unreachable"
POSTPONE_CAUSES = (ATTEMPT_ELSEWHERE, STOPPING, JOURNAL_CONFLICTS, JOURNAL_UNREACHABLE)
# The type label of a delivery naming no notifier we have: one series, however
# many odd types arrive.
UNKNOWN_TYPE = "unknown"

# Seconds. One attempt to a healthy peer takes 5 ms - 1 s; the bounds are the
# budgets (defaults): an attempt is cut off at NOTIFY_ATTEMPT_TIMEOUT_S, a
# delivery retries for NOTIFY_MAX_TOTAL_S, its last attempt may start just
# before that and run its whole timeout, and its journal writes may ride out
# a JetStream election on top.
ATTEMPT_BUCKETS: tuple[float, ...] = tuple(sorted({
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, NOTIFY_ATTEMPT_TIMEOUT_S}))
DELIVERY_BUCKETS: tuple[float, ...] = tuple(sorted({
    *ATTEMPT_BUCKETS, 30.0, NOTIFY_MAX_TOTAL_S, NOTIFY_MAX_TOTAL_S + NOTIFY_ATTEMPT_TIMEOUT_S,
    NOTIFY_MAX_TOTAL_S + NOTIFY_ATTEMPT_TIMEOUT_S + JETSTREAM_ELECTION_BOUND_S}))

DELIVERIES = Counter(
    "chartsnap_deliveries", "Deliveries ended, by service type and outcome (delivered, failed); each counted once.",
    ["type", "outcome"])
ATTEMPTS = Counter(
    "chartsnap_delivery_attempts",
    "Delivery attempts, by service type and result: delivered, transient_error (retried while the budget "
    "allows), permanent_error.",
    ["type", "result"])
DURATION = Histogram(
    "chartsnap_delivery_duration_seconds",
    "From a worker taking the delivery request to its end (every attempt and wait), by service type.",
    ["type"], buckets=DELIVERY_BUCKETS)
ATTEMPT_DURATION = Histogram(
    "chartsnap_delivery_attempt_seconds",
    "One attempt: reading the image and sending to the destination, by service type.",
    ["type"], buckets=ATTEMPT_BUCKETS)
IN_FLIGHT = Gauge(
    "chartsnap_deliveries_in_flight",
    "Deliveries being run now (attempting or waiting to retry), by service type.", ["type"])
REPLAYS = Counter(
    "chartsnap_delivery_replays",
    "Delivery requests found already ended in the journal: the outcome was reported again, nothing sent.",
    ["type", "outcome"])
INTERRUPTIONS = Counter(
    "chartsnap_delivery_interruptions",
    "Deliveries found mid-attempt by a worker that died: ended as failed, not retried (it may have been sent).",
    ["type"])
POSTPONEMENTS = Counter(
    "chartsnap_delivery_postponements",
    "Delivery requests handed back to the queue, by cause: attempt_elsewhere, stopping, journal_conflicts, "
    "journal_unreachable.",
    ["type", "cause"])
JOURNAL_WRITE_RETRIES = Counter(
    "chartsnap_delivery_journal_write_retries",
    "Journal writes that failed (NATS unreachable, a stream without a leader) and were tried again.")


class DeliveryMetrics(DeliveryObserver):
    """Counts what the runner reports. Every series of the known types starts
    at zero, so rate() and the dashboard work from the first scrape."""

    def __init__(self, types: Iterable[str]) -> None:
        self.types = frozenset(types)
        for kind in sorted(self.types | {UNKNOWN_TYPE}):
            for outcome in OUTCOMES:
                DELIVERIES.labels(kind, outcome)
                REPLAYS.labels(kind, outcome)
            for result in ATTEMPT_RESULTS:
                ATTEMPTS.labels(kind, result)
            for cause in POSTPONE_CAUSES:
                POSTPONEMENTS.labels(kind, cause)
            DURATION.labels(kind)
            ATTEMPT_DURATION.labels(kind)
            IN_FLIGHT.labels(kind)
            INTERRUPTIONS.labels(kind)

    def type_of(self, d: Delivery) -> str:
        return d.type if d.type in self.types else UNKNOWN_TYPE

    def taken(self, d: Delivery) -> None:
        IN_FLIGHT.labels(self.type_of(d)).inc()

    def attempted(self, d: Delivery, result: str, seconds: float) -> None:
        kind = self.type_of(d)
        ATTEMPTS.labels(kind, result).inc()
        ATTEMPT_DURATION.labels(kind).observe(seconds)

    def interrupted(self, d: Delivery) -> None:
        INTERRUPTIONS.labels(self.type_of(d)).inc()

    def journal_write_retried(self, d: Delivery) -> None:
        JOURNAL_WRITE_RETRIES.inc()

    def finished(self, d: Delivery, result: Outcome | Postponed | BaseException, seconds: float) -> None:
        kind = self.type_of(d)
        IN_FLIGHT.labels(kind).dec()
        if isinstance(result, Outcome):
            outcome = DELIVERED if result.delivered else FAILED
            if result.replayed:
                REPLAYS.labels(kind, outcome).inc()
            else:
                DELIVERIES.labels(kind, outcome).inc()
                DURATION.labels(kind).observe(seconds)
        elif isinstance(result, Postponed):
            POSTPONEMENTS.labels(kind, result.cause).inc()
        elif isinstance(result, Exception):  # not a cancellation: the service stopping counts nothing
            POSTPONEMENTS.labels(kind, JOURNAL_UNREACHABLE).inc()
