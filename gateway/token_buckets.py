"""Token buckets keyed by account or client address, in a bounded map.

A bucket holds up to `limit` tokens and refills at `limit` per minute, so a
client may burst a whole minute's allowance and then goes at the steady rate.
The map forgets a bucket once it is full again (an idle key is the same as an
absent one) and never holds more than `max_keys`: when that many keys are busy
at once the least recently used is dropped, so a client cycling keys costs
bounded memory. State is per gateway process."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

WINDOW_SECONDS = 60.0


@dataclass
class Bucket:
    tokens: float
    updated: float  # monotonic seconds


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int          # whole tokens left after this request
    reset_after: float      # seconds until the bucket is full again
    retry_after: int        # whole seconds until one token is back (0 when allowed)


class TokenBuckets:
    def __init__(self, limit: int, max_keys: int = 10_000, clock: Callable[[], float] | None = None) -> None:
        import time

        if limit < 1:
            raise ValueError("limit must be at least 1 per minute")
        self.limit = limit
        self.rate = limit / WINDOW_SECONDS  # tokens per second
        self.max_keys = max_keys
        self.clock = clock or time.monotonic
        self.buckets: OrderedDict[Hashable, Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self.buckets)

    def _current(self, key: Hashable, now: float) -> Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            return Bucket(float(self.limit), now)
        bucket.tokens = min(float(self.limit), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _store(self, key: Hashable, bucket: Bucket, now: float) -> None:
        if bucket.tokens >= self.limit:
            self.buckets.pop(key, None)  # full: the same as never seen
            return
        self.buckets[key] = bucket
        self.buckets.move_to_end(key)
        self._evict(now)

    def _evict(self, now: float) -> None:
        # Least recently used first: drop those that have refilled since.
        while self.buckets:
            key, oldest = next(iter(self.buckets.items()))
            refilled = oldest.tokens + (now - oldest.updated) * self.rate >= self.limit
            if refilled or len(self.buckets) > self.max_keys:
                del self.buckets[key]
                continue
            break

    def _verdict(self, allowed: bool, tokens: float) -> Verdict:
        missing = self.limit - tokens
        retry = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))
        return Verdict(allowed, self.limit, max(0, math.floor(tokens)), missing / self.rate, retry)

    def peek(self, key: Hashable) -> Verdict:
        """Whether one more request would be allowed, taking nothing."""
        now = self.clock()
        bucket = self._current(key, now)
        return self._verdict(bucket.tokens >= 1.0, bucket.tokens)

    def take(self, key: Hashable) -> Verdict:
        """Take one token if there is one."""
        now = self.clock()
        bucket = self._current(key, now)
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        self._store(key, bucket, now)
        return self._verdict(allowed, bucket.tokens)

    def give_back(self, key: Hashable) -> None:
        """Return a token taken for a request that turned out not to count."""
        now = self.clock()
        bucket = self._current(key, now)
        bucket.tokens = min(float(self.limit), bucket.tokens + 1.0)
        self._store(key, bucket, now)
