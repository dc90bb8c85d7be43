"""How long the render worker keeps trying one render request: in attempts
and in time. Pure; the worker (render_svc.worker) applies it.

A request is always tried at least once, however long it waited in the queue
(a backlog must not fail work that was never attempted). After a failed
attempt it is retried, after `retry_delay`, only while another attempt fits:
fewer than `max_attempts` attempts so far, and the retry's delay plus one
render budget still end within `total_budget` of the request's enqueued_at.
Otherwise it ends FAILED with the reason in words. A delivery that arrives
after `max_attempts` earlier deliveries ended without a verdict (the service
crashed or was killed mid-render) ends FAILED at once, not rendered again."""

from __future__ import annotations

from dataclasses import dataclass

# How long a message taken by a worker that died waits before JetStream
# redelivers it (the consumer's ack_wait); the worker's in_progress heartbeat
# keeps live renders from hitting it.
ACK_WAIT_S = 15.0
RETRY_FIRST_DELAY_S = 1.0  # nak delay after the first failed attempt, doubling after each
RETRY_MAX_DELAY_S = 30.0


def retry_delay(attempt: int) -> float:
    """Seconds to wait before the attempt after failed attempt number `attempt` (1-based)."""
    return min(RETRY_MAX_DELAY_S, RETRY_FIRST_DELAY_S * 2 ** (attempt - 1))


def default_total_budget(max_attempts: int, render_timeout: float) -> float:
    """Time for `max_attempts` attempts that each use their whole render budget
    and may end in a crash that only ACK_WAIT_S reveals, plus the delays
    between them (defaults: 4 x (10 + 15) + 1 + 2 + 4 = 107 s)."""
    return (max_attempts * (render_timeout + ACK_WAIT_S)
            + sum(retry_delay(attempt) for attempt in range(1, max_attempts)))


@dataclass(frozen=True)
class Verdict:
    retry: bool
    delay: float = 0.0   # before the next attempt, when retrying
    reason: str = ""     # why it ends here, in words, when not


def after_failure(*, attempt: int, max_attempts: int, elapsed_s: float | None, total_budget_s: float,
                  render_timeout_s: float, permanent: bool) -> Verdict:
    """What to do after failed attempt number `attempt`; `elapsed_s` is the
    time since the request was enqueued (None when the request does not say)."""
    if permanent:
        return Verdict(False, reason="and was not retried (the chart itself is invalid)")
    if attempt >= max_attempts:
        return Verdict(False, reason=f"after {attempt} attempts")
    delay = retry_delay(attempt)
    if elapsed_s is not None and elapsed_s + delay + render_timeout_s > total_budget_s:
        return Verdict(False, reason=(f"after {attempt} attempts in {elapsed_s:.0f}s: another would end "
                                      f"past the render budget of {total_budget_s:.0f}s"))
    return Verdict(True, delay=delay)


def crashed_deliveries(num_delivered: int, max_attempts: int) -> int:
    """Earlier deliveries that ended with no verdict, when this delivery comes
    after every attempt was used (0 otherwise): each failed attempt naks or
    reports FAILED, so deliveries beyond `max_attempts` only follow crashes."""
    return num_delivered - 1 if num_delivered > max_attempts else 0
