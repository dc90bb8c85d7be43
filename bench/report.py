"""The run's results as a JSON file and as the table printed at the end."""

from __future__ import annotations

import json
from pathlib import Path

from bench.targets import TargetCheck

METHOD_LABELS = {
    "stock_new_driver": "export_png, new driver per image",
    "stock_reused_driver": "export_png, reused driver",
    "warm": "warm renderer (render_svc)",
}


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)  # never leave a half-written latest.json behind


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def format_table(results: dict, checks: list[TargetCheck]) -> str:
    m = results["machine"]
    lines = [
        f"chartsnap bench ({results['mode']}) — {m['date']}",
        f"machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_mib']} MiB; "
        f"bokeh {m['bokeh']}, {m['chromium']}",
        "",
    ]
    render = results.get("render_only")
    if render:
        charts = list(render["charts"])
        lines.append("Render only, figure → PNG bytes (ms)".ljust(40)
                     + "".join(f"{c:>20}" for c in charts))
        lines.append("".ljust(40) + "".join(f"{'p50':>10}{'p95':>10}" for _ in charts))
        for method, label in METHOD_LABELS.items():
            row = label.ljust(40)
            for chart in charts:
                ms = render["charts"][chart]["methods"][method]["ms"]
                row += f"{_ms(ms['p50']):>10}{_ms(ms['p95']):>10}"
            lines.append(row)
        for stock, label in (("stock_reused_driver", "speed-up vs reused driver"),
                             ("stock_new_driver", "speed-up vs new driver")):
            row = f"  {label}".ljust(40)
            for chart in charts:
                ratio = render["charts"][chart]["speedup"][f"{stock}_over_warm"]
                row += f"{ratio['p50']:>9.1f}×{ratio['p95']:>9.1f}×"
            lines.append(row)
        lines.append("  warm steps, p50 ms (serialise / embed / capture): " + "; ".join(
            f"{chart} {_steps(render['charts'][chart]['methods']['warm'])}" for chart in charts))
        n = {method: render["charts"][charts[0]]["methods"][method]["ms"]["n"] for method in METHOD_LABELS}
        lines.append(f"  samples per chart: {n}; other processes on the machine meanwhile: "
                     f"{render.get('other_processes_cores')} cores")
        lines.append("")
    e2e = results.get("end_to_end")
    if e2e:
        one = e2e["one_client"]
        lat = one["latency_ms"]
        render = e2e.get("render_settings", {})
        lines.append(f"End to end, one client: POST /v1/snapshots → job complete "
                     f"(n={lat.get('n', 0)}, poll every {one['poll_interval_ms']:g} ms; render_svc with "
                     f"{render.get('browsers', '?')} browsers, {render.get('slots', '?')} slots)")
        lines.append(f"  p50 {_ms(lat.get('p50'))} ms   p95 {_ms(lat.get('p95'))} ms   p99 {_ms(lat.get('p99'))} ms"
                     f"   max {_ms(lat.get('max'))} ms   (POST alone p50 {_ms(one['post_ms'].get('p50'))} ms)")
        lines += _steps_table("  where the time goes (server histograms, this phase)", one["server_steps"])
        lines.append("  CPU ms per snapshot (incl. polling): " + _cpu(one.get("cpu_ms_per_snapshot", {})))
        lines.append(f"  other processes on the machine meanwhile: {one.get('other_processes_cores')} cores")
        burst = e2e["burst"]
        lines.append("")
        lines.append(f"Burst: {burst['submitted']} snapshots at once over {burst['connections']} connections")
        lines.append(f"  {burst['completed']} complete, {burst['errors']} errors, "
                     f"{burst['throughput_per_s']} snapshots/s over {burst['wall_s']:.1f} s "
                     f"(all POSTs answered after {burst['submit_all_s']:.1f} s; "
                     f"submit → complete p50 {_ms(burst['latency_ms'].get('p50'))} ms, "
                     f"max {_ms(burst['latency_ms'].get('max'))} ms)")
        for sample in burst["error_samples"]:
            lines.append(f"  error: {sample}")
        lines += _steps_table("  where the time goes (server histograms, burst)", burst["server_steps"])
        lines.append(f"  CPU ms per snapshot (cores busy {burst.get('cpu_busy_share', 0):.0%}): "
                     + _cpu(burst.get("cpu_ms_per_snapshot", {})))
        lines.append(f"  other processes on the machine meanwhile: {burst.get('other_processes_cores')} cores")
        mem = burst["render_memory"]
        lines.append(f"  render service peak memory (render_svc + Chromium trees, {mem['burst']['peak_processes']} "
                     f"processes): RSS {mem['burst']['peak_rss_mib']:.0f} MiB, PSS {mem['burst']['peak_pss_mib']:.0f} "
                     f"MiB (idle before: RSS {mem['idle']['peak_rss_mib']:.0f}, PSS {mem['idle']['peak_pss_mib']:.0f})")
        lines.append("")
    if checks:
        lines += format_targets(checks)
    return "\n".join(lines)


def format_targets(checks: list[TargetCheck]) -> list[str]:
    """Each target, PASS or MISS, under its issue."""
    width = max(len(c.name) for c in checks)
    lines: list[str] = []
    for issue in sorted({c.issue for c in checks}):
        lines.append(f"Targets (issue {issue})")
        for c in (c for c in checks if c.issue == issue):
            lines.append(f"  {'PASS' if c.passed else 'MISS'}  {c.name.ljust(width)}  {c.target:>9}  "
                         f"measured {c.measured}")
    return lines


def _cpu(per: dict[str, float]) -> str:
    return ", ".join(f"{group} {ms:g}" for group, ms in per.items()) or "not measured"


def _steps(method: dict) -> str:
    steps = method.get("steps_ms", {})
    return " / ".join(_ms(steps.get(s, {}).get("p50")) for s in ("serialize", "embed", "capture"))


def _steps_table(title: str, steps: dict[str, dict]) -> list[str]:
    if not steps:
        return [f"{title}: no metrics read"]
    lines = [f"{title}:", f"    {'step'.ljust(30)}{'n':>6}{'mean':>8}{'~p50':>8}{'~p95':>8}  ms"]
    for label, s in steps.items():
        lines.append(f"    {label.ljust(30)}{s['count']:>6}{_ms(s['mean_ms']):>8}{_ms(s['p50_ms']):>8}"
                     f"{_ms(s['p95_ms']):>8}")
    return lines
