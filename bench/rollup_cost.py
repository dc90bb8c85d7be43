"""python -m bench.rollup_cost [--smoke] — what rollups buy a snapshot's data read.

One series of 10-second samples over 30 days (3 in --smoke) is written
through MeasurementStore.submit in 1,000-sample batches (the rollups kept as
they are in service) into a throwaway SQLite database. Then the data of a
line chart (render_data.build_render_request, 600 px wide, as a snapshot
reads it) is read for the last hour and for the whole window, with the
rollups and with every raw point (the read before rollups), and the whole
window once more at a 3-hour bucket (whole hours). Prints the medians and
the issue's target: a 30-day read within 1.5× of a 1-hour read."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from snapshot_svc import rollup_rules, schema
from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.measurements import MeasurementStore, validate_samples
from snapshot_svc.render_data import build_render_request, resolution_for

STEP = 10          # seconds between samples
BATCH = 1_000      # samples per submit, as the gateway's batches
TARGET_RATIO = 1.5  # issue 12: a 30-day snapshot within 1.5x of a 1-hour one
END = 1_764_000_000 - 1_764_000_000 % 3600  # a fixed end, on the hour


class RawOnlyStore(MeasurementStore):
    """The read before rollups: every raw point of the window."""

    @staticmethod
    def _read_plan(conn: Any, start: int, end: int, resolution: int) -> list[rollup_rules.Segment]:
        return [rollup_rules.Segment(rollup_rules.RAW, start, end + 1)]


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm the page cache and the statement cache
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1e3)
    return statistics.median(times)


def _snapshot(duration: int, chart_id: int = 1) -> dict:
    return {"id": 1, "job_id": 1, "assigned_image_key": "bench.png", "account_id": 1, "end_time": END,
            "duration": duration, "width": 600, "height": 416, "chart_type": "line", "narrowing": {}}


def run_rollup_cost(days: int = 30, repeats: int = 15) -> dict:
    with tempfile.TemporaryDirectory(prefix="rollup-cost-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        schema.upgrade(engine)
        account = AccountStore(engine).create("bench@example.com", "Bench")[0].id
        store, raw = MeasurementStore(engine), RawOnlyStore(engine)
        window = days * 86_400
        times = list(range(END - window + STEP, END + 1, STEP))
        began = time.perf_counter()
        for i in range(0, len(times), BATCH):
            good, bad = validate_samples([{"name": "queue.depth", "value": float((t // STEP) % 113), "time": t}
                                          for t in times[i:i + BATCH]], {}, None, END)
            assert not bad
            store.submit(account, good)
        ingest_s = time.perf_counter() - began
        chart = {"name": "Queue depth", "streams": [{"metric": "queue.depth"}]}
        reads = {}
        for label, duration in (("1 hour", 3600), (f"{days} days", window)):
            for name, which in (("rollups", store), ("raw", raw)):
                reads[f"{label}, {name}"] = _median_ms(
                    lambda: build_render_request(which, chart, _snapshot(duration), END), repeats)
        sid = store.matching_series(account, "queue.depth", [])[0][0]
        for name, which in (("rollups", store), ("raw", raw)):
            reads[f"{days} days at 3 h buckets, {name}"] = _median_ms(
                lambda: which.bucketed([sid], END - window, END, 10_800), repeats)
        engine.dispose()
    hour, month = reads["1 hour, rollups"], reads[f"{days} days, rollups"]
    return {
        "days": days, "points": len(times), "ingest_points_per_s": round(len(times) / ingest_s),
        "resolution_1_hour": resolution_for(3600, 600), "resolution_window": resolution_for(window, 600),
        "read_ms": {k: round(v, 2) for k, v in reads.items()},
        "window_over_hour": round(month / hour, 2),
        "target": f"{days}-day read within {TARGET_RATIO}x of a 1-hour read",
        "target_met": month <= TARGET_RATIO * hour,
    }


def format_rollup_cost(result: dict) -> str:
    lines = [f"Snapshot data read, 1 series of {STEP}-second samples ({result['points']:,} points over "
             f"{result['days']} days; buckets {result['resolution_1_hour']} s / {result['resolution_window']} s), "
             f"median ms:"]
    lines += [f"  {label:<40}{ms:>10.2f}" for label, ms in result["read_ms"].items()]
    lines.append(f"  ingest with rollups kept: {result['ingest_points_per_s']:,} points/s (SQLite, "
                 f"{BATCH}-sample batches)")
    lines.append(f"  {result['target']}: {result['window_over_hour']}x — "
                 f"{'PASS' if result['target_met'] else 'MISS'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rollup_cost", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true", help="3 days instead of 30, fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = run_rollup_cost(days=3, repeats=3) if args.smoke else run_rollup_cost()
    print(format_rollup_cost(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
