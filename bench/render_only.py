"""Render only, no queue or network: the same charts through three paths.

- ``stock_new_driver``: bokeh's export machinery with a fresh Chromium per image
  (start, load 4 MB of inline BokehJS, screenshot, re-encode, quit);
- ``stock_reused_driver``: the same with one Chromium kept across images (what
  ``export_png`` does with its shared driver);
- ``warm``: render_svc's warm page (json_item → embed_item → clipped CDP capture).

A stock sample is figure object → PNG bytes (it includes writing its HTML;
building the figure from the ChartSpec stays outside its timer). A warm sample
is ChartSpec → PNG bytes the way render_svc makes it: the json_item from the
spec's shape template (render_svc.figure_templates, which builds and
serialises a figure only for a shape it has not seen), then the render. So
the warm timer covers strictly more than the stock one. The warm samples
alternate between the chart and the same chart a minute later
(:func:`a_minute_later`: other times and values, same shape), as consecutive
snapshots do. All three launch
Chromium with the same flags (render_svc.chromium_driver)."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from bokeh.models import LayoutDOM
from PIL import Image

from bench.cpu_accounting import cores_used, others_cpu, others_cpu_between
from bench.percentiles import summarize_ms
from bench.sample_charts import big_number_chart, line_chart, stacked_chart
from bench.stock_export import start_stock_driver, stock_export_png
from render_svc.chart_figure import build_figure
from render_svc.chart_spec import ChartSpec
from render_svc.browser_session import BrowserSession
from render_svc.figure_templates import figure_item

log = logging.getLogger(__name__)

REFERENCE_CHART = "line"
METHODS = ("stock_new_driver", "stock_reused_driver", "warm")


def bench_charts() -> dict[str, ChartSpec]:
    """The reference 600×416 3-stream line chart (~300 points per stream), and
    the other two chart types at the same size."""
    return {
        "line": line_chart(points=300),
        "stacked": stacked_chart(points=300),
        "bignumber": big_number_chart(),
    }


def a_minute_later(spec: ChartSpec) -> ChartSpec:
    """``spec``'s chart one minute on: window and times shifted, values rotated
    by one sample, the big number changed; the same shape (template)."""
    series = tuple(dataclasses.replace(s, times=tuple(t + 60.0 for t in s.times),
                                       values=s.values[1:] + s.values[:1]) for s in spec.series)
    big_value = None if spec.big_value is None else spec.big_value * 1.01
    return dataclasses.replace(spec, start=spec.start + 60.0, end=spec.end + 60.0, series=series,
                               big_value=big_value)


@dataclass(frozen=True)
class RenderIterations:
    stock_new_driver: int
    stock_reused_driver: int
    warm: int
    warm_up: int = 1  # untimed renders per chart and method first (page load, JIT, fonts)

    def of(self, method: str) -> int:
        return int(getattr(self, method))


@dataclass
class MethodSamples:
    seconds: list[float] = field(default_factory=list)
    # Warm path only: where the time went, per sample (serialize: spec → json_item).
    serialize_s: list[float] = field(default_factory=list)
    embed_s: list[float] = field(default_factory=list)
    capture_s: list[float] = field(default_factory=list)
    image_size: tuple[int, int] | None = None


def _timed(render: Callable[[LayoutDOM], bytes], spec: ChartSpec, samples: MethodSamples, count: int,
           warm_up: int) -> None:
    for i in range(warm_up + count):
        figure = build_figure(spec)  # fresh models each time, outside the timer
        started = time.perf_counter()
        png = render(figure)
        elapsed = time.perf_counter() - started
        if i >= warm_up:
            samples.seconds.append(elapsed)
        if samples.image_size is None:
            samples.image_size = Image.open(io.BytesIO(png)).size


def _bench_stock_new_driver(spec: ChartSpec, count: int) -> MethodSamples:
    # No warm-up: every image starts a cold browser anyway, which is the point.
    samples = MethodSamples()
    _timed(stock_export_png, spec, samples, count, warm_up=0)
    return samples


def _bench_stock_reused_driver(spec: ChartSpec, count: int, warm_up: int) -> MethodSamples:
    samples = MethodSamples()
    browser = start_stock_driver()
    try:
        _timed(lambda figure: stock_export_png(figure, driver=browser.driver), spec, samples, count, warm_up)
    finally:
        browser.quit()
    return samples


def _bench_warm(session: BrowserSession, spec: ChartSpec, count: int, warm_up: int) -> MethodSamples:
    samples = MethodSamples()
    variants = (spec, a_minute_later(spec))
    for i in range(warm_up + count):
        variant = variants[i % 2]
        started = time.perf_counter()
        item = figure_item(variant)
        serialized = time.perf_counter()
        png = session.render_serialized(item, variant.width, variant.height)
        elapsed = time.perf_counter() - started
        if i < warm_up:
            continue
        samples.seconds.append(elapsed)
        samples.serialize_s.append(serialized - started)
        samples.embed_s.append(session.last_timings.embed_s)
        samples.capture_s.append(session.last_timings.capture_s)
        if samples.image_size is None:
            samples.image_size = Image.open(io.BytesIO(png)).size
    return samples


def run_render_only(iterations: RenderIterations) -> dict:
    """Per chart and method: latency summary (ms); for the warm path also its
    steps; per chart the speed-up of the warm path (p50 and p95 ratios)."""
    charts = bench_charts()
    results: dict[str, dict] = {}
    others_before, started = others_cpu(os.getpid()), time.perf_counter()
    session = BrowserSession()  # one warm tab, as one render slot of render_svc has
    try:
        for name, spec in charts.items():
            log.info("render only: %s chart", name)
            by_method: dict[str, MethodSamples] = {}
            n = iterations.of
            by_method["stock_new_driver"] = _bench_stock_new_driver(spec, n("stock_new_driver"))
            by_method["stock_reused_driver"] = _bench_stock_reused_driver(
                spec, n("stock_reused_driver"), iterations.warm_up)
            by_method["warm"] = _bench_warm(session, spec, n("warm"), iterations.warm_up)
            results[name] = _chart_result(spec, by_method)
    finally:
        session.close()
    others = cores_used(others_cpu_between(others_before, others_cpu(os.getpid())),
                        time.perf_counter() - started)
    return {"reference_chart": REFERENCE_CHART, "charts": results, "other_processes_cores": others}


def _chart_result(spec: ChartSpec, by_method: dict[str, MethodSamples]) -> dict:
    methods = {}
    for method, samples in by_method.items():
        entry: dict = {"ms": summarize_ms(samples.seconds), "image_size": list(samples.image_size or ())}
        if samples.embed_s:
            entry["steps_ms"] = {
                "serialize": summarize_ms(samples.serialize_s),
                "embed": summarize_ms(samples.embed_s),
                "capture": summarize_ms(samples.capture_s),
            }
        methods[method] = entry
    warm = methods["warm"]["ms"]
    ratios = {}
    for stock in ("stock_reused_driver", "stock_new_driver"):
        other = methods[stock]["ms"]
        ratios[f"{stock}_over_warm"] = {
            "p50": round(other["p50"] / warm["p50"], 2), "p95": round(other["p95"] / warm["p95"], 2)}
    points = max((len(s.times) for s in spec.series), default=0)
    return {"spec": {"type": spec.chart_type, "width": spec.width, "height": spec.height,
                     "series": len(spec.series), "points_per_series": points},
            "methods": methods, "speedup": ratios}
