"""The cost curves as one PNG (bench/results/<stamp>-curves.png): latency vs
raw points in the window, vs series per chart and vs image size, each beside
export_png drawing the same data, and ingest rate vs batch size beside the
SQLite insert floor. Log-log, since each axis spans decades. `curve_panels`
shapes the results (pure); `plot_curves` draws them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

from bench.plot import save_figure  # noqa: E402


@dataclass(frozen=True)
class Line:
    label: str
    ys: list[float | None]
    color: str
    upper: list[float | None] | None = None  # p95 above a p50 line
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    xs: list[float]
    xticklabels: list[str]
    lines: list[Line] = field(default_factory=list)


SNAPSHOT_COLOR, FLOOR_COLOR, READ_COLOR, RAW_COLOR = "#4e79a7", "#f28e2b", "#59a14f", "#9e9e9e"
PG_COLOR, PG_FLOOR_COLOR = "#b07aa1", "#e15759"


def _p(rows: list[dict], key: str, stat: str) -> list[float | None]:
    return [row[key].get(stat) for row in rows]


def _latency_lines(rows: list[dict]) -> list[Line]:
    return [Line("snapshot, POST → job complete (p50, bar to p95)", _p(rows, "snapshot_ms", "p50"), SNAPSHOT_COLOR,
                 upper=_p(rows, "snapshot_ms", "p95")),
            Line("floor: bokeh export_png, reused Chromium, same data (p50)", _p(rows, "stock_export_ms", "p50"),
                 FLOOR_COLOR, upper=_p(rows, "stock_export_ms", "p95"))]


def _points_label(n: int) -> str:
    return f"10$^{{{len(str(n)) - 1}}}$" if n > 0 and str(n).strip("0") == "1" else f"{n:,}"


def curve_panels(results: dict) -> list[Panel]:
    """Every panel the results have data for, in a fixed order."""
    panels = []
    curves = (results.get("cost_curves") or {}).get("curves", {})
    if curves.get("points"):
        rows = curves["points"]
        panels.append(Panel(
            "latency vs raw points in the window (1 series of per-second samples, 600×416)",
            "raw points in the window (= seconds)", "ms", [r["x"] for r in rows],
            [_points_label(r["x"]) for r in rows],
            _latency_lines(rows) + [
                Line("data read with rollups, in process", [r["rollups_ms"] for r in rows], READ_COLOR),
                Line("data read of every raw point (before rollups)", [r["raw_ms"] for r in rows], RAW_COLOR,
                     dashed=True)]))
    if curves.get("series"):
        rows = curves["series"]
        panels.append(Panel("latency vs series per chart (lines over 1 hour, 600×416)", "series (lines) per chart",
                            "ms", [r["x"] for r in rows], [str(r["x"]) for r in rows], _latency_lines(rows)))
    if curves.get("image_size"):
        rows = curves["image_size"]
        panels.append(Panel("latency vs image size (1 line over 1 hour)", "image size, width × height (pixels)", "ms",
                            [r["width"] * r["height"] for r in rows], [f"{r['width']}×{r['height']}" for r in rows],
                            _latency_lines(rows)))
    by_batch = (results.get("ingest_cost") or {}).get("by_batch")
    if by_batch:
        batches = sorted(by_batch, key=int)
        rows = [by_batch[b] for b in batches]
        lines = [Line("POST /v1/measurements (gateway → snapshot_svc)", [r["gateway"]["points_per_s"] for r in rows],
                      SNAPSHOT_COLOR),
                 Line("floor: SQLite executemany of the same rows", [r["sqlite_floor"]["points_per_s"] for r in rows],
                      FLOOR_COLOR)]
        if all("store_in_process" in r for r in rows):
            lines.insert(1, Line("the store alone, in process", [r["store_in_process"]["points_per_s"] for r in rows],
                                 READ_COLOR, dashed=True))
        postgres = results["ingest_cost"].get("postgresql") or {}
        if "batch" in postgres:
            def only_at_its_batch(value: float) -> list[float | None]:
                return [value if int(b) == postgres["batch"] else None for b in batches]

            lines += [Line("PostgreSQL: POST /v1/measurements", only_at_its_batch(postgres["gateway"]["points_per_s"]),
                           PG_COLOR),
                      Line("PostgreSQL floor: COPY of the same rows",
                           only_at_its_batch(postgres["copy_floor"]["points_per_s"]), PG_FLOOR_COLOR)]
        engines = "SQLite; PostgreSQL at one size" if "batch" in postgres else "SQLite"
        panels.append(Panel(f"ingest rate vs batch size ({engines})", "samples per request (batch)", "points/s",
                            [int(b) for b in batches], [f"{int(b):,}" for b in batches], lines))
    return panels


def plot_curves(results: dict, path: Path) -> bool:
    """Writes the PNG; False (and no file) when the results have no curve."""
    panels = curve_panels(results)
    if not panels:
        return False
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(7.5 * columns, 5.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        _draw(ax, panel)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    save_figure(fig, results, "chartsnap cost curves", path, note="; floors measured in the same run")
    return True


def _draw(ax: plt.Axes, panel: Panel) -> None:
    for line in panel.lines:
        pairs = [(x, y, u) for x, y, u in zip(panel.xs, line.ys, line.upper or [None] * len(line.ys))
                 if y is not None]
        if not pairs:
            continue
        xs, ys, ups = zip(*pairs)
        ax.plot(xs, ys, "o--" if line.dashed else "o-", color=line.color, label=line.label, linewidth=1.8,
                markersize=5)
        if line.upper:
            ax.vlines(xs, ys, [u if u is not None else y for y, u in zip(ys, ups)], color=line.color, alpha=0.5,
                      linewidth=3)
        for x, y in zip(xs, ys):
            ax.annotate(_number(y), (x, y), textcoords="offset points", xytext=(5, -11),
                        fontsize=7.5, color=line.color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(panel.xs, panel.xticklabels)
    ax.xaxis.set_minor_locator(NullLocator())
    # 1, 2 and 5 of each decade, labelled as numbers: a log axis over one or two decades still reads.
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: _number(y)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlim(min(panel.xs) / 1.6, max(panel.xs) * 2.2)  # room for the last points' labels
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(f"{panel.ylabel} (log scale)")
    ax.set_title(panel.title, fontsize=10)
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="best")


def _number(y: float) -> str:
    return f"{y:,.0f}" if y >= 10 else f"{y:.1f}".removesuffix(".0") if y >= 1 else f"{y:g}"
