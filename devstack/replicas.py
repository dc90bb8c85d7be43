"""Replicas of the stateless services on one machine: how many may run, what
each is called, and which addresses each binds (so an extra replica gets
ports of its own while the first keeps the CHARTSNAP_* addresses).

Names: the first replica is the service's module name ("render_svc"), the
others add their number ("render_svc-2", "render_svc-3", ...). The name is the
process's key in Stack.processes, its log file and its TMPDIR."""

from __future__ import annotations

MAX_REPLICAS = 8  # CHARTSNAP_REPLICAS ceiling: 8 Chromium-hosting render_svc already fill 2-4 GB

# Every address a replicated service binds, by variable; the first is where
# the stack asks its gRPC health. The gateway is not here: it stays one.
BOUND_ADDRESSES: dict[str, tuple[str, ...]] = {
    "snapshot_svc": ("CHARTSNAP_SNAPSHOT_ADDR", "CHARTSNAP_SNAPSHOT_METRICS_ADDR"),
    "render_svc": ("CHARTSNAP_RENDER_HEALTH_ADDR", "CHARTSNAP_RENDER_METRICS_ADDR"),
    "notifier_svc": ("CHARTSNAP_NOTIFIER_HEALTH_ADDR", "CHARTSNAP_NOTIFIER_METRICS_ADDR"),
}
REPLICATED_SERVICES = tuple(BOUND_ADDRESSES)


def replica_name(service: str, number: int) -> str:
    """The name of replica `number` (from 1) of `service`."""
    return service if number == 1 else f"{service}-{number}"


def replica_names(service: str, replicas: int) -> list[str]:
    """Every replica's name; a service that is not replicated has one."""
    count = replicas if service in BOUND_ADDRESSES else 1
    return [replica_name(service, number) for number in range(1, count + 1)]


def service_of(name: str) -> str:
    """The module a replica (or any process) name runs: "render_svc-2" -> "render_svc"."""
    base, dash, number = name.rpartition("-")
    return base if dash and number.isdigit() and base in BOUND_ADDRESSES else name


def health_variable(service: str) -> str:
    return BOUND_ADDRESSES[service][0]


def reachable(address: str) -> str:
    """Where a client on this machine reaches a listener bound to `address`
    (a wildcard host is reached on loopback)."""
    host, _, port = address.rpartition(":")
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "[::]", "") else address
