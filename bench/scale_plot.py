"""One PNG per `make bench-scale` run: measured burst throughput per replica
configuration, and the projection to more cores with its bounds."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402


WRITER_COLORS = ("#e15759", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948")


def plot_scale(results: dict, path: Path) -> None:
    configurations = results["configurations"]
    projection = results["projection"]
    fig, (measured, projected) = plt.subplots(1, 2, figsize=(13, 5.5))

    labels = list(configurations)
    rates = [configurations[label].get("throughput_per_s") or 0 for label in labels]
    bars = measured.bar(range(len(labels)), rates, color="#4e79a7")
    measured.bar_label(bars, fmt="%.1f")
    measured.set_xticks(range(len(labels)), [label.replace(" / ", "\n") for label in labels])
    measured.set_ylabel("snapshots/s (burst)")
    measured.set_title(f"measured on {results['machine']['cores']} cores, PostgreSQL")

    cores = [row["cores"] for row in projection["rows"]]
    span = [min(cores) / 2, max(cores) * 2]
    per_core = 1e3 / projection["cpu_ms_per_snapshot_total"]
    projected.plot(span, [n * per_core for n in span], "--", color="#9e9e9e", label="CPU bound")
    for writer, color in zip(projection["single_writers"], WRITER_COLORS):
        projected.axhline(writer["snapshots_per_s"], color=color, linestyle=":", label=writer["name"])
    projected.plot(cores, [row["snapshots_per_s"] for row in projection["rows"]], "o-", color="#4e79a7",
                   label="projected")
    projected.set_xscale("log", base=2)
    projected.set_xticks(cores, [str(n) for n in cores])
    projected.set_yscale("log")
    projected.set_xlabel("cores")
    projected.set_ylabel("snapshots/s")
    projected.set_title(f"projection from {projection['from_configuration']}")
    projected.legend(fontsize=7, loc="lower right")

    m = results["machine"]
    fig.suptitle(f"chartsnap bench-scale — {m['date'][:16].replace('T', ' ')} UTC, {m['cores']} cores, "
                 f"{m['cpu_model']}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
