"""Latency samples summarised the way the targets are stated: percentiles in ms."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float | int]:
    """n, mean, min, p50, p95, p99 and max of samples given in seconds, in milliseconds.

    Percentiles use linear interpolation between closest ranks (numpy's default),
    so a p99 of 100 samples sits between the two slowest."""
    if not samples_s:
        return {"n": 0}
    ms = np.asarray(samples_s, dtype=float) * 1e3
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": int(ms.size), "mean": round(float(ms.mean()), 2), "min": round(float(ms.min()), 2),
        "p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2),
        "max": round(float(ms.max()), 2),
    }
