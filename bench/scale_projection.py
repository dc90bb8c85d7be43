"""From one burst's costs per snapshot to the throughput of a bigger machine
(`make bench-scale`). Pure arithmetic, no I/O.

The model: every component that runs as replicas (gateway, snapshot_svc,
render_svc and its Chromium, notifier_svc, the S3 store) and the CPU the
engines spend (PostgreSQL, NATS) share N cores, so while nothing else
limits, N cores complete N × 1000 / Σ cᵢ snapshots a second (cᵢ: CPU ms per
snapshot of component i, measured). What does not grow with replicas is a
single writer: the PostgreSQL primary, which runs every statement and takes
every write, the NATS server and the leader of each JetStream stream, which
orders every message of its stream. Each has a ceiling (write transactions/s,
stream messages/s, or CPU ms/s of a server of a given size); divided by what
one snapshot needs of it, that is a throughput no number of cores can pass.
The projection is the lowest of these bounds, and the first bottleneck is
the single writer whose bound the CPU bound reaches first."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devstack.replicas import service_of

LOAD_GENERATOR = "bench client"  # the benchmark's own HTTP client: load, not the service
CHROMIUM = "Chromium"
# Measured CPU groups (bench.cpu_accounting) -> the component they belong to;
# replicas ("render_svc-2") fold into their service.
ENGINE_COMPONENTS = {"nats": "NATS", "s3": "S3 store", "postgresql": "PostgreSQL"}


def component_of(group: str) -> str:
    """The component a CPU group of bench.cpu_accounting belongs to."""
    if group.startswith("chromium") or group == "chromedriver":
        return CHROMIUM
    return ENGINE_COMPONENTS.get(group, service_of(group))


def components(cpu_ms_per_snapshot: dict[str, float]) -> dict[str, float]:
    """CPU ms per snapshot by component, largest first, without the load
    generator and the "total" line."""
    out: dict[str, float] = {}
    for group, ms in cpu_ms_per_snapshot.items():
        if group in ("total", LOAD_GENERATOR):
            continue
        component = component_of(group)
        out[component] = out.get(component, 0.0) + ms
    return {name: round(ms, 1) for name, ms in sorted(out.items(), key=lambda kv: -kv[1])}


@dataclass(frozen=True)
class SingleWriter:
    """Something every snapshot goes through that replicas do not multiply:
    what one snapshot needs of it and the most it was measured to take."""

    name: str              # e.g. "PostgreSQL primary (write transactions)"
    per_snapshot: float    # operations one snapshot needs
    ceiling_per_s: float   # operations a second it takes at most (measured)

    @property
    def snapshots_per_s(self) -> float:
        return self.ceiling_per_s / self.per_snapshot if self.per_snapshot > 0 else math.inf


@dataclass(frozen=True)
class Projection:
    cores: int
    snapshots_per_s: float
    limit: str


def cpu_bound_per_s(cores: int, cpu_ms: dict[str, float]) -> float:
    """Snapshots a second `cores` complete when only CPU limits."""
    total = sum(cpu_ms.values())
    if total <= 0:
        raise ValueError("no CPU cost per snapshot to project from")
    return cores * 1e3 / total


def cpu_limit_label(cpu_ms: dict[str, float]) -> str:
    """Names the CPU bound by its largest consumer (Chromium, as measured)."""
    total = sum(cpu_ms.values())
    largest, ms = max(cpu_ms.items(), key=lambda kv: kv[1])
    return f"CPU ({largest} {ms:.0f} of {total:.0f} ms/snapshot)"


def project(cores: int, cpu_ms: dict[str, float], writers: list[SingleWriter]) -> Projection:
    """The lowest bound at `cores`: CPU, or a single writer's ceiling."""
    bounds = [(cpu_bound_per_s(cores, cpu_ms), cpu_limit_label(cpu_ms))]
    bounds += [(writer.snapshots_per_s, writer.name) for writer in writers]
    rate, limit = min(bounds, key=lambda bound: bound[0])
    return Projection(cores, rate, limit)


@dataclass(frozen=True)
class FirstBottleneck:
    writer: SingleWriter
    from_cores: float     # cores at which the CPU bound reaches the writer's ceiling


def first_bottleneck(cpu_ms: dict[str, float], writers: list[SingleWriter]) -> FirstBottleneck | None:
    """The single writer that stops the growth first, and from how many
    cores on (None when no writer has a finite ceiling)."""
    finite = [w for w in writers if math.isfinite(w.snapshots_per_s)]
    if not finite:
        return None
    writer = min(finite, key=lambda w: w.snapshots_per_s)
    return FirstBottleneck(writer, writer.snapshots_per_s * sum(cpu_ms.values()) / 1e3)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None if either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)
