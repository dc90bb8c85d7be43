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

# The numbers live in chartsnap.budgets: the snapshot service derives its job
# deadline from the same ones.
from chartsnap.budgets import RENDER_ACK_WAIT_S as ACK_WAIT_S
from chartsnap.budgets import default_render_total_budget as default_total_budget
from chartsnap.budgets import render_retry_delay as retry_delay

__all__ = ["ACK_WAIT_S", "Verdict", "after_failure", "crashed_deliveries", "default_total_budget", "retry_delay"]


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
