"""python -m bench [--smoke] — `make bench`.

In one run, on the same machine and charts: render only (stock export_png with
a new driver per image, with a reused driver, and the warm renderer), then a
whole stack on free ports for end-to-end latency at one client and a burst;
the snapshot data reads with and without rollups (bench.rollup_cost), ingest
beside SQLite's insert floor (bench.ingest_cost), and the cost curves: latency
vs raw points, series and image size beside export_png, on a stack of their
own (bench.cost_curves, ~4 min, 10^7 points seeded). Writes
bench/results/<timestamp>.json, latest.json, latest.png and
<timestamp>-curves.png (smoke runs: smoke.json, smoke.png and
smoke-curves.png, which git ignores), prints a table, and reports each target
of issues 4 and 12 as PASS or MISS. A miss never fails the run; an error does."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench.bench_process import configure_bench_process
from bench.cost_curves import POINT_WINDOWS
from bench.end_to_end import EndToEndPlan
from bench.render_only import RenderIterations

log = logging.getLogger("bench")
RESULTS_DIR = Path(__file__).resolve().parent / "results"

FULL_RENDER = RenderIterations(stock_new_driver=10, stock_reused_driver=30, warm=100)
SMOKE_RENDER = RenderIterations(stock_new_driver=3, stock_reused_driver=3, warm=3)
FULL_E2E = EndToEndPlan(warm_up=5, sequential=100, burst=300)
SMOKE_E2E = EndToEndPlan(warm_up=1, sequential=5, burst=10)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true",
                        help="a few iterations of everything (CI: proves the bench works; results in smoke.json)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--skip-render-only", action="store_true")
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--skip-rollup-cost", action="store_true", help="skip bench.rollup_cost (snapshot data reads)")
    parser.add_argument("--skip-ingest-cost", action="store_true",
                        help="skip bench.ingest_cost (POST /v1/measurements beside the SQLite insert floor)")
    parser.add_argument("--skip-cost-curves", action="store_true",
                        help="skip bench.cost_curves (latency vs raw points, series and image size; ~4 min)")
    parser.add_argument("--curves-largest-window", type=int, choices=POINT_WINDOWS,
                        help="raw points of the cost curves' largest window (default 10^7: seeding it takes ~1 min)")
    parser.add_argument("--sequential", type=int, help="end-to-end snapshots at one client")
    parser.add_argument("--burst", type=int, help="snapshots submitted at once")
    parser.add_argument("--poll-ms", type=float, help="job polling interval at one client (default 5)")
    parser.add_argument("--render-slots", type=int, help="CHARTSNAP_RENDER_SLOTS for render_svc (default: its own)")
    parser.add_argument("--render-browsers", type=int,
                        help="CHARTSNAP_RENDER_BROWSERS for render_svc (default: its own)")
    parser.add_argument("--keep-stack-data", action="store_true", help="keep the stack's temp dir and logs")
    return parser.parse_args(argv)


def end_to_end_plan(args: argparse.Namespace) -> EndToEndPlan:
    plan = SMOKE_E2E if args.smoke else FULL_E2E
    changes = {}
    if args.sequential is not None:
        changes["sequential"] = args.sequential
    if args.burst is not None:
        changes["burst"] = args.burst
    if args.poll_ms is not None:
        changes["poll_interval_s"] = args.poll_ms / 1e3
    return EndToEndPlan(**{**asdict(plan), **changes})


def service_env(args: argparse.Namespace) -> dict[str, str]:
    env = {}
    if args.render_slots:
        env["CHARTSNAP_RENDER_SLOTS"] = str(args.render_slots)
    if args.render_browsers:
        env["CHARTSNAP_RENDER_BROWSERS"] = str(args.render_browsers)
    return env


def run_end_to_end_phase(plan: EndToEndPlan, keep_data: bool, env: dict[str, str]) -> dict:
    from bench.bench_stack import start_bench_stack
    from bench.end_to_end import run_end_to_end
    from render_svc.settings import RenderSettings

    bench = start_bench_stack(env)
    try:
        results = asyncio.run(run_end_to_end(bench, plan))
        results["plan"] = asdict(plan)
        results["service_env"] = bench.stack.extra_env
        render = RenderSettings.from_env({**os.environ, **bench.stack.env})
        results["render_settings"] = {"browsers": render.browsers, "slots": render.slots}
        if keep_data:
            results["stack_logs"] = bench.log_paths()
        return results
    finally:
        bench.stop(keep_data=keep_data)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_bench_process()

    from bench.machine import describe_machine
    from bench.plot import plot_results
    from bench.cost_plot import plot_curves
    from bench.report import format_table, format_targets, write_json
    from bench.targets import check_targets

    started = time.monotonic()
    results: dict = {"mode": "smoke" if args.smoke else "full", "machine": describe_machine()}
    if not args.skip_render_only:
        from bench.render_only import run_render_only

        iterations = SMOKE_RENDER if args.smoke else FULL_RENDER
        log.info("render only: %s", iterations)
        results["render_only"] = run_render_only(iterations)
        results["render_only"]["iterations"] = asdict(iterations)
    if not args.skip_end_to_end:
        plan = end_to_end_plan(args)
        log.info("end to end: %s", plan)
        results["end_to_end"] = run_end_to_end_phase(plan, args.keep_stack_data, service_env(args))
    if not args.skip_rollup_cost:
        from bench.rollup_cost import run_rollup_cost

        results["rollup_cost"] = run_rollup_cost(days=3, repeats=3) if args.smoke else run_rollup_cost()
    if not args.skip_ingest_cost:
        from bench.ingest_cost import run_ingest_cost

        results["ingest_cost"] = run_ingest_cost(smoke=args.smoke)
    if not args.skip_cost_curves:
        from bench.cost_curves import plan_for, run_cost_curves

        results["cost_curves"] = run_cost_curves(plan_for(args.smoke, args.curves_largest_window))
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    checks = check_targets(results)
    results["targets"] = [c.as_dict() for c in checks]

    out_dir: Path = args.results_dir
    if args.smoke:
        json_paths, png_path = [out_dir / "smoke.json"], out_dir / "smoke.png"
        curves_path = out_dir / "smoke-curves.png"
    else:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        json_paths, png_path = [out_dir / f"{stamp}.json", out_dir / "latest.json"], out_dir / "latest.png"
        curves_path = out_dir / f"{stamp}-curves.png"
    for path in json_paths:
        write_json(results, path)
    plot_results(results, png_path)
    plots = [png_path] + ([curves_path] if plot_curves(results, curves_path) else [])
    print(format_table(results, []))
    if "rollup_cost" in results:
        from bench.rollup_cost import format_rollup_cost

        print("\n" + format_rollup_cost(results["rollup_cost"]))
    if "ingest_cost" in results:
        from bench.ingest_cost import format_ingest_cost

        print("\n" + format_ingest_cost(results["ingest_cost"]))
    if "cost_curves" in results:
        from bench.cost_curves import format_cost_curves

        print("\n" + format_cost_curves(results["cost_curves"]))
    if checks:
        print("\n" + "\n".join(format_targets(checks)))
    print(f"\nresults: {', '.join(str(p) for p in json_paths)}; plots: {', '.join(str(p) for p in plots)} "
          f"({results['bench_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
