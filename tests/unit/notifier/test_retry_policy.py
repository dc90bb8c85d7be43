"""Backoff bounds, full jitter, Retry-After honoured and bounded."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from notifier_svc.retry_policy import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=5, max_total_seconds=60.0, base_backoff=0.5, max_backoff=30.0)
HIGHEST = lambda lo, hi: hi  # noqa: E731 - the top of the jitter range
LOWEST = lambda lo, hi: lo   # noqa: E731


def test_backoff_doubles_up_to_the_cap():
    assert [POLICY.backoff_ceiling(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_full_jitter_stays_within_the_floor_and_the_ceiling():
    delays = [POLICY.next_delay(3, elapsed=0.0) for _ in range(500)]
    assert all(POLICY.min_wait <= d <= 2.0 for d in delays) and POLICY.min_wait == 0.25
    assert min(delays) < 0.5 and max(delays) > 1.5, "spread over the whole range"


def test_attempts_are_bounded():
    assert POLICY.next_delay(4, 0.0, rand=HIGHEST) == 4.0
    assert POLICY.next_delay(5, 0.0, rand=HIGHEST) is None


def test_total_time_is_bounded():
    assert POLICY.next_delay(3, elapsed=59.5, rand=HIGHEST) == 0.5, "the draw is clipped to the budget left"
    assert POLICY.next_delay(3, elapsed=60.0, rand=LOWEST) is None, "no budget left"


def test_retry_after_is_honoured():
    assert POLICY.next_delay(1, 0.0, retry_after=7.0, rand=HIGHEST) == 7.0
    assert POLICY.next_delay(4, 0.0, retry_after=1.0, rand=HIGHEST) == 4.0, "never below the backoff"


def test_retry_after_beyond_the_bounds_gives_up():
    assert POLICY.next_delay(1, 0.0, retry_after=31.0) is None, "above the per-wait cap"
    assert POLICY.next_delay(1, 40.0, retry_after=25.0) is None, "past the total budget"


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (" 120 ", 120.0), ("0", 0.0), ("-5", 0.0),
                                                 ("soon", None), ("", None), (None, None)])
def test_parse_retry_after_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def simulate(policy: RetryPolicy, attempt_seconds: float, rand) -> tuple[list[float], float]:  # noqa: ANN001
    """A delivery whose every attempt fails transiently after
    `attempt_seconds`, on a fake clock: (start time of each attempt, time
    it ended failed), counted from the first attempt's start."""
    now, starts = 0.0, []
    while True:
        starts.append(now)
        now += attempt_seconds
        delay = policy.next_delay(len(starts), elapsed=now, rand=rand)
        if delay is None:
            return starts, now
        assert delay >= 0
        now += delay
        if len(starts) > 10_000:
            raise AssertionError("the policy never gave up")


BUDGET = RetryPolicy(max_total_seconds=60.0, base_backoff=0.5, max_backoff=30.0)   # the defaults, no count cap


@pytest.mark.parametrize("attempt_seconds", [0.0, 0.01, 1.0, 6.0, 20.0])
@pytest.mark.parametrize("seed", range(20))
def test_the_time_budget_bounds_a_delivery_whatever_the_jitter(attempt_seconds, seed):
    import random

    starts, ended = simulate(BUDGET, attempt_seconds, random.Random(seed).uniform)
    assert all(s <= BUDGET.max_total_seconds for s in starts), "no attempt starts past the budget"
    assert BUDGET.max_total_seconds <= ended <= BUDGET.max_total_seconds + attempt_seconds, \
        "it ends within budget + one attempt, and not before the budget is spent"


@pytest.mark.parametrize(("rand", "attempts"), [(HIGHEST, 8), (lambda lo, hi: (lo + hi) / 2, 10)])
def test_attempts_follow_from_the_budget_not_a_fixed_count(rand, attempts):
    # Highest draws: waits 0.5+1+2+4+8+16 = 31.5 s, then the seventh wait is
    # clipped to the 28.5 s left: 8 attempts, the last at exactly 60 s (the
    # old fixed count of 5 stopped after 7.5 s of waiting).
    starts, ended = simulate(BUDGET, 0.0, rand)
    assert len(starts) == attempts and starts[-1] == pytest.approx(60.0) and ended == pytest.approx(60.0)


def test_the_old_default_of_five_attempts_no_longer_ends_a_delivery_early():
    starts, ended = simulate(BUDGET, 0.0, LOWEST)
    assert ended == pytest.approx(60.0), "even the shortest waits keep going until the budget is spent"
    assert len(starts) == 1 + 60.0 / BUDGET.min_wait == 241, "the worst-case count: every wait at the floor"


def test_the_backoff_ceiling_survives_very_many_attempts():
    assert BUDGET.backoff_ceiling(5000) == 30.0


def test_an_optional_count_cap_still_applies():
    capped = RetryPolicy(max_attempts=3, max_total_seconds=60.0, base_backoff=0.5, max_backoff=30.0)
    starts, ended = simulate(capped, 0.0, HIGHEST)
    assert len(starts) == 3 and ended == pytest.approx(1.5)
