"""bench.rollup_cost and bench.ingest_cost report each ratio with its verdict."""

from __future__ import annotations

from bench.ingest_cost import BATCH_SIZES, format_ingest_cost
from bench.rollup_cost import format_rollup_cost


def test_ingest_cost_prints_each_batch_beside_its_floor_and_the_verdict() -> None:
    row = {"gateway": {"points_per_s": 50_000, "cpu_us_per_point": {"snapshot_svc": 12.5, "gateway": 6.0}},
           "store_in_process": {"points_per_s": 90_000}, "sqlite_floor": {"points_per_s": 200_000},
           "gateway_share_of_floor": 0.25}
    text = format_ingest_cost({"clients": 2, "by_batch": {str(b): row for b in BATCH_SIZES},
                               "target": "gateway at >= 25% of the floor", "target_met": True})
    assert "1,000" in text and "200,000" in text and "25.0%" in text
    assert "snapshot_svc 12.5, gateway 6" in text
    assert text.endswith("gateway at >= 25% of the floor: PASS")


def test_rollup_cost_prints_each_window_against_both_bounds() -> None:
    result = {"days": 30, "points": 10, "points_at_10_s": 5, "ingest_points_per_s": 1,
              "resolution": {"1 hour": 12, "30 days": 10_800, "1 year": 172_800},
              "read_ms": {"1 hour, rollups": 2.0, "30 days, rollups": 2.5, "1 year, rollups": 4.5},
              "checks": [{"window": "30 days", "bound": 1.5, "ratio": 1.25, "result": "PASS", "target": True},
                         {"window": "1 year", "bound": 2.0, "ratio": 2.25, "result": "MISS", "target": True}]}
    text = format_rollup_cost(result)
    assert "30 days / 1 hour = 1.25x, within 1.5x: PASS (issue 12's target)" in text
    assert "1 year / 1 hour = 2.25x, within 2.0x: MISS (issue 12's target)" in text
    assert "30 days 10,800 s" in text
