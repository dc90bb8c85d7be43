"""python -m bench.scale — `make bench-scale`.

In one run, on one throwaway PostgreSQL cluster (a fresh database per
configuration): a fresh stack with 1 render / 1 snapshot replica, 2 / 1,
1 / 2 and 2 / 2; each gets a warm-up burst, then the measured burst, whose
throughput, CPU ms per snapshot by component (PostgreSQL's whole process
tree included), PostgreSQL write transactions and statements and NATS
messages per snapshot are recorded. Then the ceilings of the two single
writers on this machine (bench.engine_ceilings), and from the 2 / 2 run's
costs the projection to more cores (bench.scale_projection). Writes
bench/results/scale-<time>.json and .png and prints the tables.

On a machine of few cores, more replicas cannot add CPU: the ratios show
what running replicas costs (about 1 on a CPU-bound 2-core box); the
projection is what tells how throughput grows with cores."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.bench_process import configure_bench_process
from bench.end_to_end import AccountSnapshots, EndToEndPlan, run_burst

log = logging.getLogger("bench.scale")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROJECTED_CORES = (8, 32, 128)
BURST = 200
WARM_UP = 20        # a burst too, so that every render replica warms its browsers
CEILING_SECONDS = 5
PROJECTED_FROM = "2 render / 2 snapshot"


@dataclass(frozen=True)
class Replicas:
    render: int
    snapshot: int

    @property
    def label(self) -> str:
        return f"{self.render} render / {self.snapshot} snapshot"

    @property
    def database(self) -> str:
        return f"scale_r{self.render}_s{self.snapshot}"


CONFIGURATIONS = (Replicas(1, 1), Replicas(2, 1), Replicas(1, 2), Replicas(2, 2))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[1])
    parser.add_argument("--burst", type=int, default=BURST, help="snapshots in each measured burst")
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="snapshots in each warm-up burst")
    parser.add_argument("--ceiling-seconds", type=int, default=CEILING_SECONDS,
                        help="seconds of each single-writer ceiling measurement")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny bursts and ceilings (proves the bench works; results in "
                             "smoke.scale.json, which git ignores)")
    return parser.parse_args(argv)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_configuration(pg, replicas: Replicas, warm_up: int, burst: int) -> dict:  # noqa: ANN001
    from bench.scale_stack import start_scale_stack

    bench = start_scale_stack(pg, replicas.database, replicas.render, replicas.snapshot)
    try:
        created = AccountSnapshots()
        load_before = load_average()
        asyncio.run(run_burst(bench, EndToEndPlan(warm_up=0, sequential=0, burst=warm_up), created))
        result = asyncio.run(run_burst(bench, EndToEndPlan(warm_up=0, sequential=0, burst=burst), created))
        result["load_average_before"] = load_before
        result["processes"] = sorted(bench.service_pids())
    finally:
        bench.stop()
    log.info("%s: %s of %s complete, %.2f snapshots/s", replicas.label, result["completed"], result["submitted"],
             result["throughput_per_s"] or 0)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_bench_process()

    from bench.engine_ceilings import nats_stream_ceiling, postgres_write_ceiling
    from bench.machine import describe_machine
    from bench.report import write_json
    from bench.scale_plot import plot_scale
    from bench.scale_report import format_scale, project_results
    from devstack.postgres import ThrowawayPostgres

    burst, warm_up, ceiling_s = (10, 3, 1) if args.smoke else (args.burst, args.warm_up, args.ceiling_seconds)
    started = time.monotonic()
    results: dict = {"mode": "smoke" if args.smoke else "full", "machine": describe_machine(),
                     "load_average_at_start": load_average(), "burst": burst, "warm_up": warm_up,
                     "database": "PostgreSQL (throwaway cluster, fsync off), a fresh database per configuration",
                     "configurations": {}}
    with ThrowawayPostgres.start(settings={"shared_preload_libraries": "pg_stat_statements"}) as pg:
        for replicas in CONFIGURATIONS:
            log.info("burst with %s", replicas.label)
            result = measure_configuration(pg, replicas, warm_up, burst)
            results["configurations"][replicas.label] = {"replicas": asdict(replicas), **result}
    log.info("single-writer ceilings (%d s each)", ceiling_s)
    results["ceilings"] = {"postgresql": postgres_write_ceiling(ceiling_s), "nats": nats_stream_ceiling(ceiling_s)}
    results["load_average_at_end"] = load_average()
    results["projection"] = project_results(results, PROJECTED_FROM, PROJECTED_CORES)
    results["bench_seconds"] = round(time.monotonic() - started, 1)

    if args.smoke:
        json_path, png_path = args.results_dir / "smoke.scale.json", args.results_dir / "smoke.scale.png"
    else:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        json_path, png_path = args.results_dir / f"scale-{stamp}.json", args.results_dir / f"scale-{stamp}.png"
    write_json(results, json_path)
    plot_scale(results, png_path)
    print(format_scale(results))
    print(f"\nresults: {json_path}; plot: {png_path} ({results['bench_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
