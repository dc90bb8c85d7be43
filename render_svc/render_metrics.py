"""Prometheus metrics of the render service: one histogram per step of a job,
outcome counters, and the browsers' restarts and memory read at scrape time."""

from __future__ import annotations

from typing import Iterable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from chartsnap.metrics import STEP_BUCKETS
from render_svc.browser_pool import RendererPool
from render_svc.worker import Timings

QUEUE_WAIT = Histogram(
    "chartsnap_render_queue_wait_seconds",
    "From the snapshot service queueing the request (enqueued_at) to a render slot taking it.",
    buckets=STEP_BUCKETS)
SERIALIZE = Histogram(
    "chartsnap_render_serialize_seconds",
    "Planning the chart and serialising it to json_item: filling its shape's kept figure, or building one "
    "for a new shape (with any wait for the serialising thread).",
    buckets=STEP_BUCKETS)
EMBED = Histogram(
    "chartsnap_render_embed_seconds",
    "Embedding the document in the warm page until BokehJS reports it idle (painted).",
    buckets=STEP_BUCKETS)
CAPTURE = Histogram(
    "chartsnap_render_capture_seconds", "Capturing the chart element as PNG over CDP.", buckets=STEP_BUCKETS)
UPLOAD = Histogram(
    "chartsnap_render_upload_seconds", "Storing the PNG in the image bucket.", buckets=STEP_BUCKETS)
TOTAL = Histogram(
    "chartsnap_render_total_seconds",
    "From taking the message to acking it (STARTED, serialise, render, upload, SUCCEEDED).",
    buckets=STEP_BUCKETS)
RENDERS = Counter(
    "chartsnap_renders", "Render jobs by outcome: succeeded, retried (nak'ed for another attempt), failed (for good).",
    ["outcome"])
for _outcome in ("succeeded", "retried", "failed"):
    RENDERS.labels(_outcome)  # export zeros, so rate() works from the first scrape
EMBEDS = Counter(
    "chartsnap_render_embeds",
    "Succeeded renders by how the page drew them: patched (the document it held, only the values changed) "
    "or full (embedded afresh: a new chart shape or size, a refused patch, or CHARTSNAP_RENDER_FULL_EMBED_EVERY).",
    ["kind"])
for _kind in ("patched", "full"):
    EMBEDS.labels(_kind)


def observe_job(timings: Timings) -> None:
    """The worker's observer: records one finished attempt of one message."""
    RENDERS.labels(timings.outcome).inc()
    if timings.outcome != "succeeded":
        return
    EMBEDS.labels("patched" if timings.patched else "full").inc()
    QUEUE_WAIT.observe(timings.queue_wait)
    SERIALIZE.observe(timings.serialize)
    EMBED.observe(timings.embed)
    CAPTURE.observe(timings.capture)
    UPLOAD.observe(timings.upload)
    TOTAL.observe(timings.total)


class BrowserPoolCollector(Collector):
    """Reads the pool's own counters when scraped, so the renderer needs no
    knowledge of Prometheus and nothing is counted twice."""

    def __init__(self, pool: RendererPool) -> None:
        self.pool = pool

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        pool = self.pool
        yield _labelled_counter(
            "chartsnap_render_browser_restarts",
            "Browsers replaced: crashed or hung during a render, or recycled (render count or memory bound).",
            "reason", {"replaced": pool.browser_replacements, "recycled": pool.browser_recycles})
        yield _labelled_counter(
            "chartsnap_render_browser_starts",
            "Browser starts by outcome (each one bounded by CHARTSNAP_RENDER_BROWSER_START_TIMEOUT).",
            "outcome", {"started": pool.browser_starts, "failed": pool.start_failures})
        rss = GaugeMetricFamily(
            "chartsnap_render_browser_rss_bytes",
            "Summed RSS of every Chromium process tree (over-counts shared pages).")
        rss.add_metric([], pool.rss_bytes())
        yield rss
        slots = GaugeMetricFamily("chartsnap_render_slots", "Warm browsers configured (concurrent renders).")
        slots.add_metric([], pool.size)
        yield slots
        serving = GaugeMetricFamily("chartsnap_render_browsers_serving", "Warm browsers serving now.")
        serving.add_metric([], pool.ready_count)
        yield serving
        able = GaugeMetricFamily("chartsnap_render_can_render",
                                 "1 while a browser serves or the latest start succeeded; 0 means NOT_SERVING.")
        able.add_metric([], 1 if pool.can_render() else 0)
        yield able


def _labelled_counter(name: str, documentation: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in counts.items():
        family.add_metric([value], count)
    return family


def register_pool(pool: RendererPool) -> BrowserPoolCollector:
    collector = BrowserPoolCollector(pool)
    REGISTRY.register(collector)
    return collector


def unregister_pool(collector: BrowserPoolCollector) -> None:
    REGISTRY.unregister(collector)
