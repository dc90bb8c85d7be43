"""Render retries are bounded in attempts and in time (render_svc.retry_budget)."""

from __future__ import annotations

import pytest

from render_svc.retry_budget import (
    ACK_WAIT_S,
    after_failure,
    crashed_deliveries,
    default_total_budget,
    retry_delay,
)
from render_svc.settings import RenderSettings

TIMEOUT = 10.0


def verdict(attempt: int, elapsed: float | None, budget: float = 107.0, permanent: bool = False):  # noqa: ANN201
    return after_failure(attempt=attempt, max_attempts=4, elapsed_s=elapsed, total_budget_s=budget,
                         render_timeout_s=TIMEOUT, permanent=permanent)


def test_delays_double_from_one_second_and_are_capped() -> None:
    assert [retry_delay(a) for a in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay(30) == 30.0


def test_default_budget_is_every_attempt_with_a_crash_plus_the_delays() -> None:
    assert default_total_budget(4, TIMEOUT) == 4 * (TIMEOUT + ACK_WAIT_S) + 1 + 2 + 4 == 107.0
    assert RenderSettings.from_env({}).total_budget == 107.0
    derived = RenderSettings.from_env({"CHARTSNAP_RENDER_TIMEOUT": "5", "CHARTSNAP_RENDER_MAX_ATTEMPTS": "2"})
    assert derived.total_budget == 2 * (5 + ACK_WAIT_S) + 1
    assert RenderSettings.from_env({"CHARTSNAP_RENDER_TOTAL_BUDGET": "30"}).total_budget == 30.0


def test_retried_while_attempts_and_time_remain() -> None:
    first = verdict(1, elapsed=0.5)
    assert first.retry and first.delay == 1.0
    assert verdict(3, elapsed=None).retry  # no enqueued_at: attempts alone bound it


def test_not_retried_when_the_next_attempt_would_end_past_the_budget() -> None:
    late = verdict(2, elapsed=96.0)  # 96 + 2 s delay + 10 s render > 107
    assert not late.retry
    assert "after 2 attempts in 96s" in late.reason and "107s" in late.reason
    assert verdict(2, elapsed=94.0).retry  # 94 + 2 + 10 = 106 fits


def test_not_retried_after_the_last_attempt_or_when_permanent() -> None:
    assert verdict(4, elapsed=1.0).reason == "after 4 attempts"
    permanent = verdict(1, elapsed=1.0, permanent=True)
    assert not permanent.retry and "not retried" in permanent.reason


@pytest.mark.parametrize(("delivered", "crashes"), [(1, 0), (4, 0), (5, 4), (6, 5)])
def test_deliveries_past_the_attempts_only_follow_crashes(delivered: int, crashes: int) -> None:
    assert crashed_deliveries(delivered, max_attempts=4) == crashes
