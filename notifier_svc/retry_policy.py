"""When to try a delivery again: capped exponential backoff with full
jitter, for as long as the time budget lasts, and the peer's Retry-After
honoured but never beyond the bounds.

The budget is in time, not in attempts: attempts go on until the next one
would start more than `max_total_seconds` after the first one started (the
last wait is clipped to end exactly at the budget). With every attempt
bounded by the attempt timeout, a delivery therefore ends, delivered or
failed, within max_total_seconds + one attempt timeout of its first attempt.
`max_attempts` is an optional extra cap on the count (None: no cap)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None = None   # optional cap on the count; None: the time budget alone decides
    max_total_seconds: float = 60.0   # from the first attempt's start to the last one's start
    base_backoff: float = 0.5         # ceiling of the first wait; the ceiling doubles after each attempt
    max_backoff: float = 30.0         # one wait never exceeds this, Retry-After included

    def backoff_ceiling(self, attempt: int) -> float:
        """Upper bound of the jittered wait after attempt `attempt` (1-based)."""
        return min(self.max_backoff, self.base_backoff * 2.0 ** min(attempt - 1, 64))

    @property
    def min_wait(self) -> float:
        """The floor of every jittered wait: half the base backoff, so that
        unlucky draws cannot make a fast-failing peer see a burst (and the
        count stays bounded: at most 1 + max_total_seconds / min_wait)."""
        return min(self.base_backoff / 2, self.max_backoff)

    def next_delay(self, attempt: int, elapsed: float, retry_after: float | None = None,
                   rand: Callable[[float, float], float] = random.uniform) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up.

        Full jitter (a uniform draw in [min_wait, ceiling]) spreads the
        retries of many deliveries that failed together; the draw is clipped
        to the time budget left, so the last attempt starts at the budget at
        the latest. A Retry-After raises the wait to at least what the peer
        asked; if that wait would break the bounds we give up rather than
        call back early and be refused again."""
        remaining = self.max_total_seconds - elapsed
        if (self.max_attempts is not None and attempt >= self.max_attempts) or remaining <= 0:
            return None
        delay = min(rand(self.min_wait, self.backoff_ceiling(attempt)), remaining)
        if retry_after is not None:
            if retry_after > self.max_backoff or retry_after > remaining:
                return None
            delay = max(delay, retry_after)
        return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
