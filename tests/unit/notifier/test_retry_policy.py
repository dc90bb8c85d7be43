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


def test_full_jitter_stays_within_zero_and_the_ceiling():
    delays = [POLICY.next_delay(3, elapsed=0.0) for _ in range(500)]
    assert all(0.0 <= d <= 2.0 for d in delays)
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
