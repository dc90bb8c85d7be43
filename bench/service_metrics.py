"""Reads the services' Prometheus histograms before and after a phase, so the
benchmark can say where the time of that phase went (queue wait, serialise,
embed, capture, upload, RPCs, job create→complete) without instrumenting
anything of its own."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from bench.bench_stack import BenchStack, scrape

log = logging.getLogger(__name__)

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]  # histogram name, labels without "le"


@dataclass
class HistogramState:
    count: float = 0.0
    total: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count

    def minus(self, earlier: "HistogramState | None") -> "HistogramState":
        if earlier is None:
            return self
        return HistogramState(
            self.count - earlier.count, self.total - earlier.total,
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()})

    def mean_ms(self) -> float | None:
        return round(1e3 * self.total / self.count, 2) if self.count else None

    def quantile_ms(self, q: float) -> float | None:
        """Estimate like PromQL's histogram_quantile: linear within the bucket."""
        if not self.count:
            return None
        rank = q * self.count
        lower_bound, lower_count = 0.0, 0.0
        for le in sorted(self.buckets):
            cumulative = self.buckets[le]
            if cumulative >= rank:
                if math.isinf(le):
                    return round(1e3 * lower_bound, 2)
                share = (rank - lower_count) / (cumulative - lower_count) if cumulative > lower_count else 1.0
                return round(1e3 * (lower_bound + (le - lower_bound) * share), 2)
            lower_bound, lower_count = le, cumulative
        return None


Snapshot = dict[SeriesKey, HistogramState]


def parse_histograms(text: str) -> Snapshot:
    found: Snapshot = {}
    for family in text_string_to_metric_families(text):
        if family.type != "histogram":
            continue
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            state = found.setdefault((family.name, labels), HistogramState())
            if sample.name.endswith("_bucket"):
                state.buckets[float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_count"):
                state.count = sample.value
            elif sample.name.endswith("_sum"):
                state.total = sample.value
    return found


def scrape_all(bench: BenchStack) -> Snapshot:
    """Histograms of every service; a service that does not answer adds nothing
    (the benchmark still reports its own client-side numbers)."""
    merged: Snapshot = {}
    for url in (bench.gateway_metrics_url, bench.snapshot_metrics_url, bench.render_metrics_url):
        try:
            merged.update(parse_histograms(scrape(url)))
        except OSError as exc:
            log.warning("could not read %s: %s", url, exc)
    return merged


# What the report shows, in pipeline order: label -> (histogram, labels that must match).
STEPS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("gateway POST /v1/snapshots", "chartsnap_gateway_request_seconds",
     {"method": "POST", "route": "/v1/snapshots", "status": "202"}),
    ("rpc CreateSnapshot", "chartsnap_snapshot_rpc_seconds", {"method": "CreateSnapshot", "code": "OK"}),
    ("render queue wait", "chartsnap_render_queue_wait_seconds", {}),
    ("render serialise", "chartsnap_render_serialize_seconds", {}),
    ("render embed", "chartsnap_render_embed_seconds", {}),
    ("render capture", "chartsnap_render_capture_seconds", {}),
    ("render upload", "chartsnap_render_upload_seconds", {}),
    ("render total (take → ack)", "chartsnap_render_total_seconds", {}),
    ("job create → complete", "chartsnap_snapshot_job_complete_seconds", {}),
    ("gateway GET /v1/jobs/{id}", "chartsnap_gateway_request_seconds",
     {"method": "GET", "route": "/v1/jobs/{id}", "status": "200"}),
    ("rpc GetJob", "chartsnap_snapshot_rpc_seconds", {"method": "GetJob", "code": "OK"}),
)


def step_breakdown(before: Snapshot, after: Snapshot) -> dict[str, dict]:
    """Per step of the pipeline: count, mean and estimated p50/p95 (ms) within the phase."""
    out: dict[str, dict] = {}
    for label, name, wanted in STEPS:
        for (found_name, labels), state in after.items():
            if found_name != name or any(dict(labels).get(k) != v for k, v in wanted.items()):
                continue
            delta = state.minus(before.get((found_name, labels)))
            out[label] = {"count": int(delta.count), "mean_ms": delta.mean_ms(),
                          "p50_ms": delta.quantile_ms(0.5), "p95_ms": delta.quantile_ms(0.95)}
    return out
