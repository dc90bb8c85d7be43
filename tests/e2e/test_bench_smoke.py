"""`make bench` works: its smoke mode runs every phase end to end (a few
renders per path, 5 snapshots at one client, a burst of 10) and writes the
results and the plot. A benchmark is not a timed test: only the shape of the
results is checked, never the numbers against the targets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import repo_root

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.timeout(600)]


def test_bench_smoke_writes_results_plot_and_verdicts(tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--results-dir", str(tmp_path)],
                         cwd=repo_root(), capture_output=True, text=True, timeout=560)  # a hang guard: smoke takes ~2 min on 2 cores
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "smoke.json").read_text())
    assert (tmp_path / "smoke.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "latest.json").exists(), "a smoke run must not replace the real results"

    assert results["mode"] == "smoke" and results["machine"]["cores"] >= 1 and results["machine"]["cpu_model"]
    for chart in ("line", "stacked", "bignumber"):
        methods = results["render_only"]["charts"][chart]["methods"]
        for method in ("stock_new_driver", "stock_reused_driver", "warm"):
            assert methods[method]["ms"]["n"] == 3 and methods[method]["image_size"] == [600, 416]
    e2e = results["end_to_end"]
    assert e2e["one_client"]["latency_ms"]["n"] == 5
    assert e2e["burst"]["completed"] == 10 and e2e["burst"]["errors"] == 0
    assert e2e["burst"]["render_memory"]["burst"]["peak_rss_mib"] > 0
    assert {"render embed", "render capture", "job create → complete"} <= set(e2e["one_client"]["server_steps"])
    assert {t["result"] for t in results["targets"]} <= {"PASS", "MISS"}
    by_issue = {issue: [t for t in results["targets"] if t["issue"] == issue] for issue in (4, 12)}
    assert len(by_issue[4]) == 7, by_issue[4]
    # Issue 12's: the 30-day and 1-year reads, ingest (SQLite; PostgreSQL), burst and warm over stock.
    assert len(by_issue[12]) >= 5, by_issue[12]
    assert "Targets (issue 4)" in run.stdout and "Targets (issue 12)" in run.stdout
    curves = results["cost_curves"]
    assert curves and (tmp_path / "smoke-curves.png").read_bytes()[:4] == b"\x89PNG"
