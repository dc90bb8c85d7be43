"""The time budgets that more than one service must agree on, and how they are
read from CHARTSNAP_* variables. One home: the render service and the notifier
enforce them, and the snapshot service reads the very same variables (with the
same defaults) to hold every job to a deadline without asking them."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.settings import EnvReader

# -- rendering ----------------------------------------------------------------
RENDER_TIMEOUT_S = 10.0     # CHARTSNAP_RENDER_TIMEOUT: browser time per attempt
RENDER_MAX_ATTEMPTS = 4     # CHARTSNAP_RENDER_MAX_ATTEMPTS
# How long a render request taken by a worker that died waits before JetStream
# redelivers it (the render consumer's ack_wait); the worker's in_progress
# heartbeat keeps live renders from hitting it.
RENDER_ACK_WAIT_S = 15.0
RENDER_RETRY_FIRST_DELAY_S = 1.0  # nak delay after the first failed attempt, doubling after each
RENDER_RETRY_MAX_DELAY_S = 30.0

# -- JetStream ------------------------------------------------------------------
# How long a stream or key-value bucket of a JetStream cluster may be without a
# leader after a node died: a follower of its Raft group waits 4-9 s before it
# campaigns (nats-server's raft.go: minElectionTimeoutDefault..
# maxElectionTimeoutDefault), then campaigns for up to 0.8 s
# (maxCampaignTimeoutDefault). Bound: one full timeout, a second round if the
# first vote splits, and time to answer. Writes that must land (the delivery
# journal) keep trying at least this long.
JETSTREAM_ELECTION_BOUND_S = 20.0

# -- delivering -----------------------------------------------------------------
NOTIFY_MAX_TOTAL_S = 60.0     # CHARTSNAP_NOTIFY_MAX_TOTAL_SECONDS: one delivery, retries included
NOTIFY_ATTEMPT_TIMEOUT_S = 20.0  # CHARTSNAP_NOTIFY_ATTEMPT_TIMEOUT
NOTIFY_ACK_WAIT_S = 30.0      # the notifier consumer's ack_wait


def render_retry_delay(attempt: int) -> float:
    """Seconds to wait before the attempt after failed attempt number `attempt` (1-based)."""
    return min(RENDER_RETRY_MAX_DELAY_S, RENDER_RETRY_FIRST_DELAY_S * 2 ** (attempt - 1))


def default_render_total_budget(max_attempts: int, render_timeout: float) -> float:
    """Time for `max_attempts` attempts that each use their whole render budget
    and may end in a crash that only the ack wait reveals, plus the delays
    between them (defaults: 4 x (10 + 15) + 1 + 2 + 4 = 107 s)."""
    return (max_attempts * (render_timeout + RENDER_ACK_WAIT_S)
            + sum(render_retry_delay(attempt) for attempt in range(1, max_attempts)))


@dataclass(frozen=True)
class RenderBudget:
    timeout: float = RENDER_TIMEOUT_S          # seconds per attempt
    max_attempts: int = RENDER_MAX_ATTEMPTS    # deliveries of one request before it fails
    total: float = default_render_total_budget(RENDER_MAX_ATTEMPTS, RENDER_TIMEOUT_S)  # from enqueued_at


@dataclass(frozen=True)
class NotifyBudget:
    max_total: float = NOTIFY_MAX_TOTAL_S
    attempt_timeout: float = NOTIFY_ATTEMPT_TIMEOUT_S


def render_budget_from(env: EnvReader) -> RenderBudget:
    timeout = env.float("RENDER_TIMEOUT", RENDER_TIMEOUT_S, lo=1.0)
    max_attempts = env.int("RENDER_MAX_ATTEMPTS", RENDER_MAX_ATTEMPTS, lo=1, hi=20)
    total = env.float("RENDER_TOTAL_BUDGET", default_render_total_budget(max_attempts, timeout), lo=1.0)
    return RenderBudget(timeout, max_attempts, total)


def notify_budget_from(env: EnvReader) -> NotifyBudget:
    return NotifyBudget(
        max_total=env.float("NOTIFY_MAX_TOTAL_SECONDS", NOTIFY_MAX_TOTAL_S, lo=0.0),
        attempt_timeout=env.float("NOTIFY_ATTEMPT_TIMEOUT", NOTIFY_ATTEMPT_TIMEOUT_S, lo=0.1),
    )
