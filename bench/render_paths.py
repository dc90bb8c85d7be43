"""Experiment: where a warm render's time goes, and which capture and Chromium
flags make it cheaper, all side by side in one run (issue 12 part 3).

    .venv/bin/python -m bench.render_paths [--iterations 20] [--skip-flags] [--json out.json]

1. Paths: per chart type (line, stacked, big number; light and dark) and scale
   (1 and 2), alternating between the chart and the chart a minute later
   (other data, same shape), renders interleaved round-robin between stock
   ``export_png`` with a reused driver and four warm paths (WARM_PATHS: the
   render_svc's (the whole item embedded every time), the page's document patched,
   the embed through webdriver's execute_async_script as before, and BokehJS's own
   canvas export instead of the screenshot -- CANVAS_EXPORT_EXPRESSION: the
   root plot view's export("png") laid over the page's background,
   toDataURL), each in its own browser so that each
   browser's CPU (read from /proc, by Chromium process role) is its path's.
   Per warm render: serialise (spec → json_item, as render_svc does it), and the page's own marks (embed.js: JSON
   parsed, views built, document idle) plus what is outside the page (round
   trips, the screenshot). Every warm image is compared with stock's (max
   channel difference; 0 = pixel-identical; at scale 2, with the screenshot).
2. Flags: the screenshot path with CHROMIUM_FLAGS plus each candidate flag
   (one browser per variant, interleaved), latency and CPU per render, and
   its pixels against the stock flags'.

Prints a table and writes the figures as JSON (--json). The machine is shared
and noisy: compare the columns of one run, not runs."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image

from bench.cpu_accounting import cpu_ms_per_item, read_cpu
from bench.percentiles import summarize_ms
from bench.render_only import a_minute_later, bench_charts
from bench.stock_export import start_stock_driver, stock_export_png
from render_svc import chromium_driver
from render_svc.browser_session import BrowserSession
from render_svc.warm_renderer import BrowserOptions
from render_svc.chart_figure import build_figure
from render_svc.chart_spec import ChartSpec
from render_svc.figure_json import serialize
from render_svc.figure_templates import figure_item
from render_svc.host_page import TARGET_ELEMENT_ID, embed_expression

log = logging.getLogger(__name__)

# Candidates that drop work a headless still image does not need. --single-process
# is left out on purpose: a crash must stay in its renderer.
FLAG_VARIANTS: dict[str, tuple[str, ...]] = {
    "stock flags": (),
    "--in-process-gpu": ("--in-process-gpu",),
    "--disable-gpu-compositing": ("--disable-gpu-compositing",),
    "--num-raster-threads=1": ("--num-raster-threads=1",),
    "--disable-dev-shm-usage": ("--disable-dev-shm-usage",),
    "--disable-threaded-animation/scrolling": ("--disable-threaded-animation", "--disable-threaded-scrolling"),
}

# Each in its own browser: render_svc's path (embed through one CDP
# Runtime.evaluate, CDP element screenshot), the same embed through webdriver's
# execute_async_script (what render_svc did before), and the CDP embed
# followed by BokehJS's canvas export instead of the screenshot.
# WARM_PATCH: the same as WARM_CDP (render_svc's path), except that from the
# second render of a shape on the page patches the document it holds
# (render_svc.figure_templates.FigureItem.patch, BrowserOptions.full_embed_every
# > 1; off in render_svc: not pixel-identical for line charts) instead of
# embedding the whole item.
WARM_CDP, WARM_ASYNC_SCRIPT, WARM_CANVAS = "warm screenshot", "warm screenshot, async-script embed", "warm canvas"
WARM_PATCH = "warm screenshot, document patched"
WARM_PATHS = (WARM_CDP, WARM_PATCH, WARM_ASYNC_SCRIPT, WARM_CANVAS)

ASYNC_SCRIPT_EMBED = "window.chartsnapEmbed(arguments[0], arguments[1], arguments[2], arguments[3]).then(arguments[4]);"

# BokehJS's own PNG export of the root plot (it repaints every canvas layer into
# a new canvas at devicePixelRatio), over the figure's CSS background then the
# page's, as the compositor would lay them: {png: base64, export_ms, encode_ms}.
CANVAS_EXPORT_EXPRESSION = """(() => {
const started = performance.now();
const root = Bokeh.index.roots[0];
const canvas = root.export("png", true).canvas;
const exported = performance.now();
const context = canvas.getContext("2d");
context.save();
context.setTransform(1, 0, 0, 1, 0, 0);
context.globalCompositeOperation = "destination-over";
for (const el of [root.el, root.el.parentElement]) {
  context.fillStyle = getComputedStyle(el).backgroundColor;
  context.fillRect(0, 0, canvas.width, canvas.height);
}
context.restore();
const url = canvas.toDataURL("image/png");
return {png: url.slice(url.indexOf(",") + 1), export_ms: exported - started, encode_ms: performance.now() - exported};
})()"""


def evaluate(driver, expression: str) -> dict:  # noqa: ANN001 - selenium WebDriver
    """The value of a JavaScript expression (a promise awaited) in the page."""
    return driver.execute_cdp_cmd("Runtime.evaluate", {
        "expression": expression, "awaitPromise": True, "returnByValue": True})["result"]["value"]


def decode(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def max_diff(a: np.ndarray, b: np.ndarray) -> int | str:
    if a.shape != b.shape:
        return f"size {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}"
    return int(np.abs(a - b).max())


@contextmanager
def flags_added(extra: tuple[str, ...]) -> Iterator[None]:
    """Browsers started inside get CHROMIUM_FLAGS plus ``extra`` (an experiment
    only: the service's flags are the module constant)."""
    stock = chromium_driver.CHROMIUM_FLAGS
    chromium_driver.CHROMIUM_FLAGS = stock + extra
    try:
        yield
    finally:
        chromium_driver.CHROMIUM_FLAGS = stock


def cpu_s(chromedriver_pid: int | None) -> dict[str, float]:
    """CPU seconds so far of one browser's tree, by Chromium process role."""
    if chromedriver_pid is None:
        return {}
    return read_cpu({"render_svc": chromedriver_pid}).seconds


@dataclasses.dataclass
class PathRecord:
    seconds: list[float] = dataclasses.field(default_factory=list)
    steps: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)
    diffs: list[int | str] = dataclasses.field(default_factory=list)

    def step(self, name: str, seconds: float) -> None:
        self.steps.setdefault(name, []).append(seconds)

    def add_cpu(self, before: dict[str, float], after: dict[str, float]) -> None:
        for group, value in after.items():
            self.cpu[group] = self.cpu.get(group, 0.0) + value - before.get(group, 0.0)

    def summary(self) -> dict:
        worst = max(self.diffs, key=lambda d: (isinstance(d, str), d if isinstance(d, int) else 0), default=None)
        return {"ms": summarize_ms(self.seconds),
                "steps_p50_ms": {k: summarize_ms(v)["p50"] for k, v in self.steps.items()},
                "cpu_ms_per_render": cpu_ms_per_item(self.cpu, len(self.seconds)),
                "max_channel_diff_vs_stock": worst}


def _warm_render(session: BrowserSession, spec: ChartSpec, scale: float, record: PathRecord,
                 path: str = WARM_CDP) -> bytes:
    """One render on the session's browser by ``path`` (one of WARM_PATHS)."""
    browser = session.borrow(None)
    pid = browser._process.chromedriver_pid  # noqa: SLF001 - an experiment reads the tree's CPU
    before = cpu_s(pid)
    started = time.perf_counter()
    item = figure_item(spec)  # as render_svc makes it (shape templates)
    item_json = item.json
    serialised = time.perf_counter()
    if path in (WARM_CDP, WARM_PATCH):
        png = session.render_serialized(item if path == WARM_PATCH else item_json, spec.width, spec.height, scale)
        embed_s, capture_s, marks = session.last_timings.embed_s, session.last_timings.capture_s, browser.last_marks
    else:
        driver = browser.driver
        if scale != browser._scale:  # noqa: SLF001
            browser._set_viewport(*browser._viewport, scale)  # noqa: SLF001
        if path == WARM_ASYNC_SCRIPT:
            page = driver.execute_async_script(ASYNC_SCRIPT_EMBED, TARGET_ELEMENT_ID, item_json, spec.width,
                                               spec.height)
        else:
            page = evaluate(driver, embed_expression(item_json, spec.width, spec.height))
        embedded = time.perf_counter()
        if path == WARM_CANVAS:
            exported = evaluate(driver, CANVAS_EXPORT_EXPRESSION)
            png = base64.b64decode(exported["png"])
            record.step("export: repaint", exported["export_ms"] / 1000)
            record.step("export: encode", exported["encode_ms"] / 1000)
        else:
            png = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": False, "optimizeForSpeed": True,
                "clip": {"x": page["x"], "y": page["y"], "width": spec.width, "height": spec.height, "scale": 1},
            })["data"])
        embed_s, capture_s, marks = embedded - serialised, time.perf_counter() - embedded, page["marks"]
    elapsed = time.perf_counter() - started
    record.add_cpu(before, cpu_s(pid))
    record.seconds.append(elapsed)
    record.step("serialise", serialised - started)
    record.step("embed (python)", embed_s)
    record.step("capture (python)", capture_s)
    previous = 0.0
    for mark in ("parsed", "built", "idle"):
        record.step(f"page: ->{mark}", (marks[mark] - previous) / 1000)
        previous = marks[mark]
    # Round trips to chromedriver and back (JSON both ways, base64) plus the screenshot.
    record.step("embed outside the page", embed_s - previous / 1000)
    return png


def _stock_render(driver, spec: ChartSpec, record: PathRecord, chromedriver_pid: int | None) -> bytes:  # noqa: ANN001
    figure = build_figure(spec)
    before = cpu_s(chromedriver_pid)
    started = time.perf_counter()
    png = stock_export_png(figure, driver=driver)
    record.seconds.append(time.perf_counter() - started)
    record.add_cpu(before, cpu_s(chromedriver_pid))
    return png


def run_paths(iterations: int) -> dict:
    # Each case alternates between a chart and the same chart a minute later
    # (other data, same shape), on every path.
    cases: list[tuple[str, tuple[ChartSpec, ChartSpec], float]] = []
    for name, spec in bench_charts().items():
        dark = dataclasses.replace(spec, theme="dark")
        cases.append((name, (spec, a_minute_later(spec)), 1.0))
        cases.append((f"{name} dark", (dark, a_minute_later(dark)), 1.0))
        cases.append((f"{name} scale 2", (spec, a_minute_later(spec)), 2.0))
    sessions = {path: BrowserSession(BrowserOptions(full_embed_every=50) if path == WARM_PATCH else BrowserOptions())
                for path in WARM_PATHS}
    stock = start_stock_driver()
    results: dict[str, dict] = {}
    try:
        for case, variants, scale in cases:
            log.info("paths: %s", case)
            records = {"stock export_png": PathRecord(), **{path: PathRecord() for path in sessions}}
            for i in range(iterations + 2):  # the first two rounds warm each path up
                spec = variants[i % 2]
                warm_records = {path: PathRecord() for path in sessions} if i < 2 else records
                if scale == 1.0:
                    stock_png = _stock_render(stock.driver, spec, PathRecord() if i < 2 else records["stock export_png"],
                                              stock.chromedriver_pid)
                for path, session in sessions.items():
                    png = _warm_render(session, spec, scale, warm_records[path], path)
                    reference = stock_png if scale == 1.0 else _warm_reference(sessions, spec, scale)
                    records[path].diffs.append(max_diff(decode(png), decode(reference)))
            results[case] = {path: record.summary() for path, record in records.items() if record.seconds}
    finally:
        for session in sessions.values():
            session.close()
        stock.quit()
    return results


_reference_cache: dict[tuple[int, float], bytes] = {}


def _warm_reference(sessions: dict[str, BrowserSession], spec: ChartSpec, scale: float) -> bytes:
    """At scale != 1 stock export_png has no scale: the screenshot path is the reference."""
    key = (id(spec), scale)
    if key not in _reference_cache:
        session = sessions[WARM_CDP]
        _reference_cache[key] = session.render_serialized(serialize(build_figure(spec)), spec.width, spec.height, scale)
    return _reference_cache[key]


def run_flags(iterations: int) -> dict:
    spec = bench_charts()["line"]
    sessions: dict[str, BrowserSession] = {}
    try:
        for variant, extra in FLAG_VARIANTS.items():
            with flags_added(extra):
                sessions[variant] = BrowserSession()
        records = {variant: PathRecord() for variant in sessions}
        reference = None
        for i in range(iterations + 1):
            for variant, session in sessions.items():
                record = records[variant] if i else PathRecord()
                png = _warm_render(session, spec, 1.0, record)
                reference = reference if reference is not None else png
                if i:
                    record.diffs.append(max_diff(decode(png), decode(reference)))
        return {variant: record.summary() for variant, record in records.items()}
    finally:
        for session in sessions.values():
            session.close()


def print_table(title: str, results: dict[str, dict]) -> None:
    print(f"\n== {title}")
    for row, entry in results.items():
        print(f"{row}: ms p50 {entry['ms'].get('p50')} p95 {entry['ms'].get('p95')}; "
              f"CPU ms/render {entry['cpu_ms_per_render']}; max diff vs stock {entry['max_channel_diff_vs_stock']}")
        if entry["steps_p50_ms"]:
            print("    steps p50 ms: " + ", ".join(f"{k} {v}" for k, v in entry["steps_p50_ms"].items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20, help="timed renders per case and path")
    parser.add_argument("--skip-paths", action="store_true")
    parser.add_argument("--skip-flags", action="store_true")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    figures: dict = {}
    if not args.skip_paths:
        figures["paths"] = run_paths(args.iterations)
        for case, by_path in figures["paths"].items():
            print_table(f"paths: {case}", by_path)
    if not args.skip_flags:
        figures["flags"] = run_flags(args.iterations)
        print_table("flags (screenshot capture, line chart)", figures["flags"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
