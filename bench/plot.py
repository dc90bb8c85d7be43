"""One PNG per run: render-only p50/p95 per chart and path (log scale, since
the paths differ by an order of magnitude), and the end-to-end percentiles
against their targets."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bench.report import METHOD_LABELS  # noqa: E402

METHOD_COLORS = {"stock_new_driver": "#9e9e9e", "stock_reused_driver": "#f28e2b", "warm": "#4e79a7"}


def plot_results(results: dict, path: Path) -> None:
    render, e2e = results.get("render_only"), results.get("end_to_end")
    panels = [p for p in (render, e2e) if p]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 6), width_ratios=[3, 2][:len(panels)],
                             squeeze=False)
    col = 0
    if render:
        _render_panel(axes[0][col], render)
        col += 1
    if e2e:
        _end_to_end_panel(axes[0][col], e2e)
    save_figure(fig, results, "chartsnap bench", path)


def save_figure(fig: plt.Figure, results: dict, what: str, path: Path, note: str = "") -> None:
    """Title the figure with the run (mode, date, machine) and write it as a PNG."""
    m = results["machine"]
    fig.suptitle(f"{what} ({results['mode']}) — {m['date'][:16].replace('T', ' ')} UTC, "
                 f"{m['cores']} cores, {m['cpu_model']}{note}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _render_panel(ax: plt.Axes, render: dict) -> None:
    charts = list(render["charts"])
    methods = list(METHOD_LABELS)
    x = np.arange(len(charts))
    width = 0.26
    for i, method in enumerate(methods):
        p50 = [render["charts"][c]["methods"][method]["ms"]["p50"] for c in charts]
        p95 = [render["charts"][c]["methods"][method]["ms"]["p95"] for c in charts]
        offset = (i - 1) * width
        bars = ax.bar(x + offset, p50, width, color=METHOD_COLORS[method], label=f"{METHOD_LABELS[method]} (p50)")
        # p95 as a thin dark tick above each bar: same scale, no second bar to confuse.
        ax.errorbar(x + offset, p95, xerr=width * 0.4, fmt="none", ecolor="#333333", elinewidth=1.5)
        for bar, value in zip(bars, p50):
            # Inside the top of the bar, where the p95 tick above cannot cover it.
            ax.annotate(f"{value:.0f}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="top",
                        fontsize=8, color="white", fontweight="bold", xytext=(0, -3), textcoords="offset points")
    ax.axhline(80, color="#e15759", linestyle="--", linewidth=1, label="warm p50 target 80 ms")
    ax.set_yscale("log")
    ax.set_ylabel("ms per image (log scale)")
    ax.set_xticks(x, [f"{c}\n{render['charts'][c]['spec']['width']}×{render['charts'][c]['spec']['height']}"
                      for c in charts])
    ref = render["charts"][render["reference_chart"]]["speedup"]
    ax.set_title(f"Render only — p50 bars, p95 ticks; warm is {ref['stock_reused_driver_over_warm']['p50']:.1f}× "
                 f"reused / {ref['stock_new_driver_over_warm']['p50']:.1f}× new driver", fontsize=10)
    # Below the axes: inside, it would hide the tallest bars.
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    ax.grid(axis="y", which="both", alpha=0.25)


def _end_to_end_panel(ax: plt.Axes, e2e: dict) -> None:
    one, burst = e2e["one_client"]["latency_ms"], e2e["burst"]
    labels = ["p50", "p95", "p99"]
    values = [one.get(k, 0) for k in labels]
    targets = {"p50": 200, "p99": 500}
    bars = ax.bar(labels, values, color="#4e79a7", width=0.55)
    for bar, label, value in zip(bars, labels, values):
        ax.annotate(f"{value:.0f} ms", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    fontsize=9, xytext=(0, 2), textcoords="offset points")
        if label in targets:
            ax.hlines(targets[label], bar.get_x() - 0.05, bar.get_x() + bar.get_width() + 0.05,
                      colors="#e15759", linestyles="--", linewidth=1.5)
            ax.annotate(f"target {targets[label]}", (bar.get_x() + bar.get_width() + 0.06, targets[label]),
                        ha="left", va="center", fontsize=8, color="#e15759")
    ax.set_ylim(0, max(max(values), 500) * 1.15)
    ax.set_ylabel("ms, POST /v1/snapshots → job complete")
    rate = burst.get("throughput_per_s")
    ax.set_title(f"End to end, one client (n={one.get('n', 0)})\nburst of {burst['submitted']}: "
                 f"{rate} /s (target ≥ 15), {burst['errors']} errors, render peak RSS "
                 f"{burst['render_memory']['burst']['peak_rss_mib']:.0f} MiB", fontsize=10)
    ax.grid(axis="y", alpha=0.25)
