"""The cost curves' arithmetic and shaping: issue 12's target checks, the
plan's points, the seeded value in SQL and Python, the table and the plot's
panels. (The curves themselves run in `make bench`; its smoke in tests/e2e.)"""

from __future__ import annotations

import copy
import sqlite3

import pytest

from bench.cost_curves import (SMOKE_PLAN, VALUE_SQL, CurvePlan, configs, format_cost_curves, plan_for,
                               sample_value)
from bench.cost_plot import curve_panels, plot_curves
from bench.targets import check_targets, issue_12_checks, postgres_share_of_copy


def _ms(p50: float, p95: float | None = None) -> dict:
    return {"n": 10, "p50": p50, "p95": p95 if p95 is not None else p50 * 1.2}


def _curves() -> dict:
    points = [{"x": n, "width": 600, "height": 416, "duration_s": n, "series": 1, "drawn_points": 280,
               "snapshot_ms": _ms(150 + i), "stock_export_ms": _ms(600), "bucket_s": 4,
               "rollups_ms": 3.0, "raw_ms": n / 1000} for i, n in enumerate((10**3, 10**4, 10**5))]
    series = [{"x": n, "width": 600, "height": 416, "duration_s": 3600, "series": n, "drawn_points": 300 * n,
               "snapshot_ms": _ms(150 + 10 * n), "stock_export_ms": _ms(600 + 20 * n)} for n in (1, 10, 40)]
    sizes = [{"x": w, "width": w, "height": h, "duration_s": 3600, "series": 1, "drawn_points": 300,
              "snapshot_ms": _ms(w / 4), "stock_export_ms": _ms(w)} for w, h in ((600, 416), (1200, 832))]
    return {"plan": {"snapshots": 10, "stock": 4}, "seed": {"points": 10**5, "insert_s": 1.0, "rollups_s": 0.5},
            "rollups_checked_windows": [10**5], "seconds": 90.0,
            "curves": {"points": points, "series": series, "image_size": sizes}}


def _results() -> dict:
    warm = {"ms": _ms(50.0)}
    reused = {"ms": _ms(500.0)}
    return {
        "mode": "full",
        "machine": {"date": "2026-01-01T00:00:00+00:00", "cores": 2, "cpu_model": "Test CPU"},
        "render_only": {"reference_chart": "line", "charts": {"line": {
            "methods": {"warm": warm, "stock_reused_driver": reused, "stock_new_driver": reused},
            "speedup": {"stock_reused_driver_over_warm": {"p50": 10.0}, "stock_new_driver_over_warm": {"p50": 20.0}}}}},
        "end_to_end": {"one_client": {"latency_ms": _ms(120.0)},
                       "burst": {"submitted": 300, "errors": 0, "throughput_per_s": 21.0}},
        "rollup_cost": {"checks": [
            {"window": "30 days", "bound": 1.5, "ratio": 0.9, "result": "PASS", "target": True},
            {"window": "30 days", "bound": 2.0, "ratio": 0.9, "result": "PASS", "target": False},
            {"window": "1 year", "bound": 1.5, "ratio": 2.4, "result": "MISS", "target": False},
            {"window": "1 year", "bound": 2.0, "ratio": 2.4, "result": "MISS", "target": True}]},
        "ingest_cost": {"by_batch": {
            str(b): {"gateway": {"points_per_s": 170 * b ** 0.7}, "store_in_process": {"points_per_s": 900 * b ** 0.6},
                     "sqlite_floor": {"points_per_s": 200_000}, "gateway_share_of_floor": share}
            for b, share in ((1, 0.01), (100, 0.05), (1000, 0.3))}},
        "cost_curves": _curves(),
    }


def test_issue_12_targets_each_pass_or_miss_under_its_issue() -> None:
    checks = {c.name: c for c in issue_12_checks(_results())}
    assert set(checks) == {"30 days snapshot data read / 1 hour", "1 year snapshot data read / 1 hour",
                           "ingest via gateway / SQLite insert floor (1,000 a batch)",
                           "burst throughput / stock export_png rate (1000 / reused p50 ms)",
                           "warm render p50 vs stock warm export_png p50"}
    assert {c.issue for c in checks.values()} == {12}
    assert checks["30 days snapshot data read / 1 hour"].passed
    year = checks["1 year snapshot data read / 1 hour"]
    assert not year.passed and (year.target, year.measured) == ("≤ 2×", "2.4×")
    assert checks["ingest via gateway / SQLite insert floor (1,000 a batch)"].measured == "30%"
    # 21 snapshots/s over export_png's 1000 / 500 ms = 2 images/s: 10.5x.
    burst = checks["burst throughput / stock export_png rate (1000 / reused p50 ms)"]
    assert burst.passed and burst.measured == "10.5×"
    assert checks["warm render p50 vs stock warm export_png p50"].passed


def test_issue_12_misses_are_reported_not_raised() -> None:
    slow = copy.deepcopy(_results())
    slow["end_to_end"]["burst"]["throughput_per_s"] = 19.9
    slow["render_only"]["charts"]["line"]["speedup"]["stock_reused_driver_over_warm"]["p50"] = 7.9
    slow["ingest_cost"]["by_batch"]["1000"]["gateway_share_of_floor"] = 0.249
    missed = {c.name for c in issue_12_checks(slow) if not c.passed}
    assert missed == {"1 year snapshot data read / 1 hour", "ingest via gateway / SQLite insert floor (1,000 a batch)",
                      "burst throughput / stock export_png rate (1000 / reused p50 ms)",
                      "warm render p50 vs stock warm export_png p50"}


def test_postgresql_share_is_checked_only_when_measured() -> None:
    results = _results()
    assert postgres_share_of_copy(results["ingest_cost"]) is None
    results["ingest_cost"]["postgresql"] = {"batch": 1000, "gateway": {"points_per_s": 30_000},
                                            "copy_floor": {"points_per_s": 200_000}, "gateway_share_of_floor": 0.15}
    (pg,) = [c for c in issue_12_checks(results) if "PostgreSQL" in c.name]
    assert not pg.passed and (pg.target, pg.measured) == ("≥ 20%", "15%")
    assert postgres_share_of_copy({"postgresql": {"by_batch": {"100": {"gateway_share_of_floor": 0.1},
                                                                "1000": {"gateway_share_of_floor": 0.4}}}}) == 0.4


def test_skipped_phases_leave_their_targets_out() -> None:
    assert check_targets({"mode": "full"}) == []
    only_render = {k: v for k, v in _results().items() if k == "render_only"}
    assert [c.name for c in check_targets(only_render) if c.issue == 12] == [
        "warm render p50 vs stock warm export_png p50"]


def test_plan_covers_every_window_up_to_its_largest() -> None:
    assert CurvePlan().windows == (10**3, 10**4, 10**5, 10**6, 10**7)
    assert plan_for(False, 10**5).windows == (10**3, 10**4, 10**5)
    assert plan_for(True) == SMOKE_PLAN and SMOKE_PLAN.windows == (10**3, 10**4)
    points = [c for c in configs(CurvePlan()) if c.curve == "points"]
    assert [(c.x, c.duration, c.width, c.height) for c in points][-1] == (10**7, 10**7, 600, 416)
    assert [(c.width, c.height) for c in configs(CurvePlan()) if c.curve == "image_size"] == [
        (600, 416), (1200, 832), (2400, 1664)]
    assert [c.chart for c in configs(CurvePlan()) if c.curve == "series"] == ["hosts-1", "hosts-10", "hosts-40"]


def test_seeded_value_is_the_same_in_sql_and_python() -> None:
    db = sqlite3.connect(":memory:")
    for x in (0, 1, 3599, 3600, 7199, 1_786_252_400):
        (value,) = db.execute(f"SELECT {VALUE_SQL} FROM (SELECT ? AS x)", (x,)).fetchone()
        assert value == sample_value(x)


def test_table_lists_every_curve_beside_its_floor() -> None:
    table = format_cost_curves(_curves())
    assert "n=10" in table and "seeded 100,000 per-second points" in table
    assert "     100,000" in table and "   1200×832" in table
    assert len(table.splitlines()) == 3 + 3 + 1 + 3 + 1 + 2  # title, seed, three headed tables


def test_panels_shape_each_curve_with_its_floor() -> None:
    panels = curve_panels(_results())
    assert [p.title.split(" (")[0] for p in panels] == [
        "latency vs raw points in the window", "latency vs series per chart", "latency vs image size",
        "ingest rate vs batch size"]
    points, series, sizes, ingest = panels
    assert points.xs == [10**3, 10**4, 10**5] and points.xticklabels == ["10$^{3}$", "10$^{4}$", "10$^{5}$"]
    assert [line.ys for line in points.lines][:2] == [[150, 151, 152], [600, 600, 600]]
    assert points.lines[0].upper == [180, 181.2, 182.4]
    assert [line.ys for line in points.lines][3] == [1.0, 10.0, 100.0]
    assert series.xs == [1, 10, 40] and len(series.lines) == 2
    assert sizes.xs == [600 * 416, 1200 * 832] and sizes.xticklabels == ["600×416", "1200×832"]
    assert ingest.xs == [1, 100, 1000] and ingest.lines[-1].ys == [200_000] * 3


def test_postgresql_is_one_point_at_its_batch_size() -> None:
    results = _results()
    results["ingest_cost"]["postgresql"] = {"batch": 1000, "gateway": {"points_per_s": 30_000},
                                            "copy_floor": {"points_per_s": 250_000}}
    ingest = curve_panels(results)[-1]
    assert [line.ys for line in ingest.lines[-2:]] == [[None, None, 30_000], [None, None, 250_000]]
    assert "PostgreSQL at one size" in ingest.title


def test_plot_is_written_only_with_curves(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    assert plot_curves(_results(), path) and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bare = {k: v for k, v in _results().items() if k not in ("cost_curves", "ingest_cost")}
    assert not plot_curves(bare, tmp_path / "none.png") and not (tmp_path / "none.png").exists()
