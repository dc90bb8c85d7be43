"""The benchmark's own arithmetic: percentiles, histogram deltas and
quantiles read from /metrics, target checks, the table and the plot. (The
benchmark as a whole is proved by the smoke test in tests/e2e.)"""

from __future__ import annotations

import copy

import pytest

from bench.percentiles import summarize_ms
from bench.report import format_table
from bench.service_metrics import HistogramState, parse_histograms, step_breakdown
from bench.targets import check_targets, issue_4_checks

EXPOSITION_BEFORE = """\
# HELP chartsnap_render_embed_seconds Embedding.
# TYPE chartsnap_render_embed_seconds histogram
chartsnap_render_embed_seconds_bucket{le="0.05"} 1.0
chartsnap_render_embed_seconds_bucket{le="0.1"} 2.0
chartsnap_render_embed_seconds_bucket{le="+Inf"} 2.0
chartsnap_render_embed_seconds_count 2.0
chartsnap_render_embed_seconds_sum 0.11
"""
EXPOSITION_AFTER = """\
# HELP chartsnap_render_embed_seconds Embedding.
# TYPE chartsnap_render_embed_seconds histogram
chartsnap_render_embed_seconds_bucket{le="0.05"} 5.0
chartsnap_render_embed_seconds_bucket{le="0.1"} 10.0
chartsnap_render_embed_seconds_bucket{le="+Inf"} 10.0
chartsnap_render_embed_seconds_count 10.0
chartsnap_render_embed_seconds_sum 0.51
# HELP chartsnap_snapshot_rpc_seconds RPCs.
# TYPE chartsnap_snapshot_rpc_seconds histogram
chartsnap_snapshot_rpc_seconds_bucket{code="OK",le="0.01",method="GetJob"} 4.0
chartsnap_snapshot_rpc_seconds_bucket{code="OK",le="+Inf",method="GetJob"} 4.0
chartsnap_snapshot_rpc_seconds_count{code="OK",method="GetJob"} 4.0
chartsnap_snapshot_rpc_seconds_sum{code="OK",method="GetJob"} 0.008
"""


def test_summary_is_in_milliseconds_with_interpolated_percentiles() -> None:
    summary = summarize_ms([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert summary["n"] == 100
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05)
    assert summary["p99"] == pytest.approx(99.01)
    assert (summary["min"], summary["max"]) == (1.0, 100.0)
    assert summarize_ms([]) == {"n": 0}


def test_histogram_delta_mean_and_quantile_like_promql() -> None:
    before = parse_histograms(EXPOSITION_BEFORE)
    after = parse_histograms(EXPOSITION_AFTER)
    key = ("chartsnap_render_embed_seconds", ())
    delta = after[key].minus(before[key])
    assert delta.count == 8
    assert delta.mean_ms() == pytest.approx(50.0)
    # 4 of the 8 new samples are ≤ 50 ms, the other 4 in (50, 100]:
    assert delta.quantile_ms(0.5) == pytest.approx(50.0)
    assert delta.quantile_ms(0.75) == pytest.approx(75.0)
    assert HistogramState().quantile_ms(0.5) is None


def test_step_breakdown_matches_labels_and_skips_absent_steps() -> None:
    steps = step_breakdown(parse_histograms(EXPOSITION_BEFORE), parse_histograms(EXPOSITION_AFTER))
    assert steps["render embed"]["count"] == 8
    assert steps["rpc GetJob"] == {"count": 4, "mean_ms": 2.0, "p50_ms": 5.0, "p95_ms": 9.5}
    assert "render capture" not in steps


def _results() -> dict:
    ms = {"n": 10, "mean": 1, "min": 1, "p50": 50.0, "p95": 60.0, "p99": 61.0, "max": 62.0}
    methods = {
        "stock_new_driver": {"ms": {**ms, "p50": 900.0, "p95": 950.0}, "image_size": [600, 416]},
        "stock_reused_driver": {"ms": {**ms, "p50": 400.0, "p95": 420.0}, "image_size": [600, 416]},
        "warm": {"ms": ms, "image_size": [600, 416],
                 "steps_ms": {s: {"p50": 10.0} for s in ("serialize", "embed", "capture")}},
    }
    chart = {"spec": {"type": "line", "width": 600, "height": 416, "series": 3, "points_per_series": 300},
             "methods": methods,
             "speedup": {"stock_reused_driver_over_warm": {"p50": 8.0, "p95": 7.0},
                         "stock_new_driver_over_warm": {"p50": 18.0, "p95": 15.8}}}
    memory = {"peak_rss_mib": 2500.0, "peak_pss_mib": 900.0, "peak_processes": 21, "samples": 100}
    return {
        "mode": "full",
        "machine": {"date": "2026-01-01T00:00:00+00:00", "cores": 2, "cpu_model": "Test CPU", "memory_mib": 4096,
                    "bokeh": "3.9.2", "chromium": "Chromium 1"},
        "render_only": {"reference_chart": "line", "charts": {"line": chart}, "other_processes_cores": 0.0},
        "end_to_end": {
            "one_client": {"latency_ms": {**ms, "p50": 120.0, "p99": 180.0}, "post_ms": ms, "poll_interval_ms": 5.0,
                           "server_steps": {}, "cpu_ms_per_snapshot": {"total": 150.0},
                           "other_processes_cores": 0.0},
            "burst": {"submitted": 300, "accepted": 300, "completed": 300, "errors": 0, "error_samples": [],
                      "connections": 64, "submit_all_s": 2.0, "wall_s": 20.0, "throughput_per_s": 15.0,
                      "post_ms": ms, "latency_ms": ms, "server_steps": {}, "cpu_ms_per_snapshot": {},
                      "cpu_busy_share": 0.9, "other_processes_cores": 0.0,
                      "render_memory": {"idle": memory, "burst": memory}},
        },
    }


def test_targets_pass_and_miss_without_raising() -> None:
    results = _results()
    assert all(c.passed for c in issue_4_checks(results))
    slow = copy.deepcopy(results)
    slow["render_only"]["charts"]["line"]["speedup"]["stock_reused_driver_over_warm"]["p50"] = 3.9
    slow["end_to_end"]["burst"]["errors"] = 2
    slow["end_to_end"]["burst"]["throughput_per_s"] = 14.9
    missed = {c.name for c in issue_4_checks(slow) if not c.passed}
    assert missed == {"warm vs export_png, reused driver (p50)", "burst of 300: throughput", "burst of 300: errors"}


def test_table_names_machine_paths_and_verdicts() -> None:
    results = _results()
    table = format_table(results, issue_4_checks(results))
    assert "2 cores, Test CPU" in table
    assert "export_png, reused driver" in table and "warm renderer (render_svc)" in table
    assert "8.0×" in table
    assert "p50 120 ms" in table
    assert "15.0 snapshots/s" in table
    assert table.count("PASS") == 7 and "MISS" not in table and "Targets (issue 4)" in table


def test_table_groups_targets_by_issue() -> None:
    table = format_table(_results(), check_targets(_results()))
    assert table.index("Targets (issue 4)") < table.index("Targets (issue 12)")
    # 15 snapshots/s against export_png's 1000 / 400 ms = 2.5 images/s: 6x, under 10x.
    assert "MISS  burst throughput / stock export_png rate" in table and "measured 6×" in table


def test_plot_is_written(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from bench.plot import plot_results

    path = tmp_path / "plot.png"
    plot_results(_results(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
