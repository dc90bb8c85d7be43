"""The targets of issue 4, checked against a run's results. A miss is
reported, never raised: a benchmark is not a timed test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target: str
    measured: str
    passed: bool

    def as_dict(self) -> dict:
        return {"name": self.name, "target": self.target, "measured": self.measured,
                "result": "PASS" if self.passed else "MISS"}


def _check(name: str, target: str, value: float | None, ok: bool, unit: str = "") -> TargetCheck:
    measured = "n/a" if value is None else f"{value:g}{unit}"
    return TargetCheck(name, target, measured, value is not None and ok)


def check_targets(results: dict) -> list[TargetCheck]:
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
