"""Token buckets: burst, steady refill, verdict numbers, and the bounded map."""

from __future__ import annotations

import pytest

from gateway.token_buckets import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_minute_of_burst_then_refused_with_a_retry_delay() -> None:
    clock = Clock()
    buckets = TokenBuckets(6, clock=clock)
    remaining = [buckets.take("a").remaining for _ in range(6)]
    assert remaining == [5, 4, 3, 2, 1, 0]
    refused = buckets.take("a")
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == 10  # 6 per minute: one token every 10 s
    assert refused.reset_after == pytest.approx(60.0)


def test_refills_at_limit_per_minute() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock)
    for _ in range(60):
        assert buckets.take("a").allowed
    assert not buckets.take("a").allowed
    clock.now += 1.0
    assert buckets.take("a").allowed
    assert not buckets.take("a").allowed


def test_keys_are_independent_and_give_back_restores() -> None:
    buckets = TokenBuckets(2, clock=Clock())
    buckets.take("a")
    buckets.take("a")
    assert not buckets.peek("a").allowed
    assert buckets.peek("b").allowed
    buckets.give_back("a")
    assert buckets.take("a").allowed


def test_peek_takes_nothing() -> None:
    buckets = TokenBuckets(1, clock=Clock())
    for _ in range(5):
        assert buckets.peek("a").allowed
    assert buckets.take("a").allowed


def test_full_buckets_are_forgotten_and_the_map_is_bounded() -> None:
    clock = Clock()
    buckets = TokenBuckets(10, max_keys=100, clock=clock)
    for i in range(10_000):  # a client cycling keys
        buckets.take(f"key-{i}")
        assert len(buckets) <= 100
    clock.now += 61.0  # every bucket refilled: nothing worth remembering
    buckets.take("fresh")
    assert len(buckets) == 1


def test_a_bucket_given_back_to_full_is_dropped() -> None:
    buckets = TokenBuckets(3, clock=Clock())
    buckets.take("a")
    assert len(buckets) == 1
    buckets.give_back("a")
    assert len(buckets) == 0


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBuckets(0)
