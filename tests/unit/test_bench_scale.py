"""`make bench-scale`'s arithmetic: CPU groups folded into components, the
projection to more cores (the CPU bound against the single writers'
ceilings), the first bottleneck, the ratios, and the report built from a
results dict. (The measuring itself needs the whole stack: `make bench-scale`.)"""

from __future__ import annotations

import math

import pytest

from bench.scale_projection import (SingleWriter, component_of, components, cpu_bound_per_s, first_bottleneck,
                                    project, ratio)
from bench.scale_report import format_scale, project_results

MEASURED = {"chromium renderer": 60.0, "chromium browser": 15.0, "chromedriver": 5.0, "render_svc": 6.0,
            "render_svc-2": 4.0, "snapshot_svc": 12.0, "snapshot_svc-2": 8.0, "gateway": 3.0, "nats": 3.0,
            "postgresql": 4.0, "s3": 2.0, "bench client": 9.0, "total": 131.0}


def test_groups_fold_into_components_without_the_load_generator():
    assert component_of("chromium gpu-process") == "Chromium"
    assert component_of("chromedriver") == "Chromium"
    assert component_of("render_svc-2") == "render_svc"
    assert component_of("postgresql") == "PostgreSQL"
    cpu = components(MEASURED)
    assert cpu == {"Chromium": 80.0, "snapshot_svc": 20.0, "render_svc": 10.0, "PostgreSQL": 4.0,
                   "gateway": 3.0, "NATS": 3.0, "S3 store": 2.0}
    assert list(cpu)[0] == "Chromium"  # largest first
    assert sum(cpu.values()) == pytest.approx(122.0)  # the client's 9 ms and the "total" line are out


def test_cpu_bound_is_cores_times_a_second_over_the_cost():
    cpu = {"Chromium": 75.0, "snapshot_svc": 25.0}
    assert cpu_bound_per_s(2, cpu) == pytest.approx(20.0)
    assert cpu_bound_per_s(128, cpu) == pytest.approx(1280.0)
    with pytest.raises(ValueError):
        cpu_bound_per_s(8, {})


def test_a_single_writer_bounds_snapshots_by_its_ceiling_over_what_one_needs():
    assert SingleWriter("db", 4.0, 2000.0).snapshots_per_s == pytest.approx(500.0)
    assert SingleWriter("unused", 0.0, 100.0).snapshots_per_s == math.inf


def test_projection_is_cpu_bound_until_the_lowest_writer_ceiling():
    cpu = {"Chromium": 75.0, "snapshot_svc": 25.0}  # 100 ms: 10 snapshots/s per core
    writers = [SingleWriter("PostgreSQL primary", 4.0, 2000.0),   # 500 snapshots/s
               SingleWriter("NATS stream leader", 2.0, 20000.0)]  # 10000 snapshots/s
    eight = project(8, cpu, writers)
    assert (eight.snapshots_per_s, eight.limit) == (pytest.approx(80.0), "CPU (Chromium 75 of 100 ms/snapshot)")
    assert project(32, cpu, writers).snapshots_per_s == pytest.approx(320.0)
    at_128 = project(128, cpu, writers)
    assert (at_128.snapshots_per_s, at_128.limit) == (pytest.approx(500.0), "PostgreSQL primary")

    bottleneck = first_bottleneck(cpu, writers)
    assert bottleneck.writer.name == "PostgreSQL primary"
    assert bottleneck.from_cores == pytest.approx(50.0)  # 500 snapshots/s × 100 ms
    assert first_bottleneck(cpu, [SingleWriter("unused", 0.0, 1.0)]) is None


def test_ratio_of_throughputs():
    assert ratio(14.0, 13.5) == 1.04
    assert ratio(None, 13.5) is None
    assert ratio(14.0, 0.0) is None


def _burst(throughput: float, render_ms: float) -> dict:
    return {"submitted": 200, "completed": 200, "errors": 0, "throughput_per_s": throughput,
            "cpu_busy_share": 0.97, "other_processes_cores": 0.1,
            "cpu_ms_per_snapshot": {"chromium renderer": render_ms, "snapshot_svc": 20.0, "nats": 3.0,
                                    "postgresql": 5.0, "bench client": 7.0, "total": render_ms + 35.0},
            "counts_per_snapshot": {
                "postgresql": {"write_transactions": 4.0},
                "nats": {"messages_in": 9.0, "stream_messages": {"CHARTSNAP_RENDER": 1.0, "CHARTSNAP_RESULTS": 2.0}}}}


def _results() -> dict:
    return {
        "mode": "full", "burst": 200, "warm_up": 20, "database": "PostgreSQL",
        "machine": {"date": "2026-12-02T11:00:00+00:00", "cores": 2, "cpu_model": "test", "memory_mib": 1},
        "load_average_at_start": [1.0, 1.0, 1.0], "load_average_at_end": [2.0, 1.0, 1.0],
        "configurations": {"1 render / 1 snapshot": _burst(14.0, 72.0), "2 render / 1 snapshot": _burst(14.0, 72.0),
                           "1 render / 2 snapshot": _burst(12.6, 72.0), "2 render / 2 snapshot": _burst(13.3, 72.0)},
        "ceilings": {"postgresql": {"write_transactions_per_s": 2000, "write_transactions_per_s_synchronous_commit_off":
                                    5000, "clients": 16},
                     "nats": {"stream_messages_per_s": 20000, "server_cpu_us_per_message": 50.0,
                              "client_bound_messages_per_s": 2800}},
    }


def test_results_project_from_the_replicated_run_with_the_busiest_stream():
    results = _results()
    projection = project_results(results, "2 render / 2 snapshot", (8, 32, 128))
    assert projection["cpu_ms_per_snapshot_total"] == 100.0   # 72 + 20 + 3 + 5, not the client
    assert projection["cpu_bound_here_per_s"] == 20.0
    writers = {w["name"].split(" (")[0]: w["snapshots_per_s"] for w in projection["single_writers"]}
    assert writers == {
        "PostgreSQL primary: database writes": 500,   # 2000 write transactions/s ÷ 4 a snapshot
        "PostgreSQL primary: CPU": 400,               # 2 cores ÷ 5 ms a snapshot
        "NATS stream leader CHARTSNAP_RESULTS: messages": 10000,  # the busiest stream: 20000/s ÷ 2
        "NATS server: CPU": 667,                      # 2 cores ÷ 3 ms
    }
    assert [(row["cores"], row["snapshots_per_s"]) for row in projection["rows"]] == [(8, 80), (32, 320), (128, 400)]
    assert projection["rows"][0]["limit"] == "CPU (Chromium 72 of 100 ms/snapshot)"
    assert projection["rows"][2]["limit"].startswith("PostgreSQL primary: CPU")
    assert projection["first_bottleneck"]["from_cores"] == 40
    assert projection["ratios"] == {"2 render / 1 render": 1.0, "2 snapshot / 1 snapshot": 0.9, "2+2 / 1+1": 0.95}

    results["projection"] = projection
    text = format_scale(results)
    assert "2 render / 1 render = 1.00; 2 snapshot / 1 snapshot = 0.90" in text
    assert "first bottleneck: PostgreSQL primary: CPU" in text
    assert "   128          400  PostgreSQL primary: CPU" in text
    assert "NATS 9 messages in" in text
