"""The targets of issues 4 and 12, checked against a run's results. A miss is
reported, never raised: a benchmark is not a timed test. A target whose
measurement the run skipped is left out (its phase printed nothing to judge)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target: str
    measured: str
    passed: bool
    issue: int = 4

    def as_dict(self) -> dict:
        return {"issue": self.issue, "name": self.name, "target": self.target, "measured": self.measured,
                "result": "PASS" if self.passed else "MISS"}


def _check(name: str, target: str, value: float | None, ok: bool, unit: str = "", issue: int = 4) -> TargetCheck:
    measured = "n/a" if value is None else f"{value:g}{unit}"
    return TargetCheck(name, target, measured, value is not None and ok, issue)


# Issue 12's bounds (the rollup and ingest ones live with their measurement:
# bench.rollup_cost's checks, bench.ingest_cost's TARGET_SHARE and PG_TARGET_SHARE).
BURST_OVER_STOCK_RATE = 10.0   # burst snapshots/s over stock warm export_png's images/s (1000 / its p50 ms)
WARM_OVER_STOCK = 8.0          # stock warm export_png p50 over the warm render's p50


def check_targets(results: dict) -> list[TargetCheck]:
    return issue_4_checks(results) + issue_12_checks(results)


def issue_4_checks(results: dict) -> list[TargetCheck]:
    checks: list[TargetCheck] = []
    render = results.get("render_only")
    if render:
        ref = render["charts"][render["reference_chart"]]
        warm_p50 = ref["methods"]["warm"]["ms"]["p50"]
        reused = ref["speedup"]["stock_reused_driver_over_warm"]["p50"]
        new = ref["speedup"]["stock_new_driver_over_warm"]["p50"]
        checks += [
            _check("warm render p50 (reference chart)", "≤ 80 ms", warm_p50, warm_p50 <= 80, " ms"),
            _check("warm vs export_png, reused driver (p50)", "≥ 4×", reused, reused >= 4, "×"),
            _check("warm vs export_png, new driver (p50)", "≥ 10×", new, new >= 10, "×"),
        ]
    e2e = results.get("end_to_end")
    if e2e:
        one = e2e["one_client"]["latency_ms"]
        burst = e2e["burst"]
        p50, p99 = one.get("p50"), one.get("p99")
        rate, errors = burst.get("throughput_per_s"), burst["errors"]
        checks += [
            _check("end to end p50, one client", "≤ 200 ms", p50, p50 is not None and p50 <= 200, " ms"),
            _check("end to end p99, one client", "≤ 500 ms", p99, p99 is not None and p99 <= 500, " ms"),
            _check(f"burst of {burst['submitted']}: throughput", "≥ 15 /s", rate,
                   rate is not None and rate >= 15, " /s"),
            _check(f"burst of {burst['submitted']}: errors", "0", errors, errors == 0),
        ]
    return checks


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def issue_12_checks(results: dict) -> list[TargetCheck]:
    checks: list[TargetCheck] = []
    rollup = results.get("rollup_cost")
    if rollup:
        for c in (c for c in rollup["checks"] if c["target"]):
            checks.append(_check(f"{c['window']} snapshot data read / 1 hour", f"≤ {c['bound']:g}×", c["ratio"],
                                 c["ratio"] <= c["bound"], "×", issue=12))
    ingest = results.get("ingest_cost")
    if ingest:
        from bench.ingest_cost import PG_TARGET_SHARE, TARGET_SHARE

        biggest = max(ingest["by_batch"], key=int)
        share = ingest["by_batch"][biggest]["gateway_share_of_floor"]
        checks.append(_check(f"ingest via gateway / SQLite insert floor ({int(biggest):,} a batch)",
                             f"≥ {TARGET_SHARE:.0%}", _percent(share), share >= TARGET_SHARE, "%", issue=12))
        postgres = postgres_share_of_copy(ingest)
        if postgres is not None:
            checks.append(_check("ingest via gateway / PostgreSQL COPY floor", f"≥ {PG_TARGET_SHARE:.0%}",
                                 _percent(postgres), postgres >= PG_TARGET_SHARE, "%", issue=12))
    render, e2e = results.get("render_only"), results.get("end_to_end")
    if render:
        ref = render["charts"][render["reference_chart"]]
        stock_p50 = ref["methods"]["stock_reused_driver"]["ms"]["p50"]
        if e2e and e2e["burst"].get("throughput_per_s") is not None and stock_p50:
            over = e2e["burst"]["throughput_per_s"] / (1000 / stock_p50)
            checks.append(_check("burst throughput / stock export_png rate (1000 / reused p50 ms)",
                                 f"≥ {BURST_OVER_STOCK_RATE:g}×", _ratio(over), over >= BURST_OVER_STOCK_RATE, "×",
                                 issue=12))
        warm = ref["speedup"]["stock_reused_driver_over_warm"]["p50"]
        checks.append(_check("warm render p50 vs stock warm export_png p50", f"≥ {WARM_OVER_STOCK:g}×", warm,
                             warm >= WARM_OVER_STOCK, "×", issue=12))
    return checks


def _percent(share: float) -> float:
    return round(100 * share, 1)


def postgres_share_of_copy(ingest: dict) -> float | None:
    """PostgreSQL's gateway share of its COPY floor, where bench.ingest_cost
    measured one: results["ingest_cost"]["postgresql"], either its own
    `gateway_share_of_floor` or a `by_batch` shaped like SQLite's (the
    largest batch). None when the run has none."""
    postgres = ingest.get("postgresql")
    if not isinstance(postgres, dict):
        return None
    if "gateway_share_of_floor" in postgres:
        return postgres["gateway_share_of_floor"]
    by_batch = postgres.get("by_batch")
    if by_batch:
        return by_batch[max(by_batch, key=int)].get("gateway_share_of_floor")
    return None
