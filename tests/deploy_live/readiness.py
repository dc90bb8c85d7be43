"""Wait until every pod `podman kube play` started is ready, by the manifests' own probes.

    python -m tests.deploy_live.readiness --pod-ip 127.0.0.1 [--pods FILE] < built.yaml

podman 4.3.1 runs none of a manifest's probes (tests/deploy_live/kube_play.py
removes them), so this runs them as the kubelet would, against the pod
address (hostNetwork: the host's loopback): `httpGet` (status 200-399),
`grpc` (grpc.health.v1 SERVING), `tcpSocket` (a connection), `exec` (`podman
exec` in the container). A container is ready when its readinessProbe passes
(its startupProbe when it has no readinessProbe).

The bound of each container is its own start budget, as a cluster would allow
it: the startupProbe's initialDelaySeconds + periodSeconds x failureThreshold
(the readinessProbe's when there is no startupProbe), plus MARGIN_S for
`podman kube play` to create the pods and start their init containers on a
busy 2-core machine. Every pod is waited for at once; each is named, with the
time it took, when it is ready. On a timeout the pods that are not ready are
named with each one's last probe error, and the exit status is 1."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

# Kubernetes' defaults (core/v1 Probe).
DEFAULT_PERIOD_S = 10
DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_TIMEOUT_S = 1
# Time for kube play to create pods and run init containers (migrations) before
# the first probe of a container can pass; measured: 2-25 s on a noisy 2-core machine.
MARGIN_S = 60.0
POLL_S = 1.0  # kubelet probes at most once a second too


@dataclass
class ContainerProbe:
    pod: str          # the pod name kube play gives it: <deployment>-pod-0
    container: str
    probe: dict[str, Any]
    ports: dict[str, int]   # the container's named ports
    budget_s: float

    @property
    def podman_name(self) -> str:
        return f"{self.pod}-{self.container}"

    @property
    def timeout_s(self) -> float:
        return float(self.probe.get("timeoutSeconds", DEFAULT_TIMEOUT_S))


def start_budget(container: dict[str, Any]) -> float:
    """Seconds a cluster lets this container take to become ready."""
    probe = container.get("startupProbe") or container.get("readinessProbe") or {}
    return (probe.get("initialDelaySeconds", 0)
            + probe.get("periodSeconds", DEFAULT_PERIOD_S) * probe.get("failureThreshold", DEFAULT_FAILURE_THRESHOLD))


def container_probes(documents: Iterable[dict[str, Any] | None]) -> list[ContainerProbe]:
    """Every container of every workload that has a readiness (or startup) probe."""
    out = []
    for doc in documents:
        if not doc or doc.get("kind") not in ("Deployment", "StatefulSet", "Pod"):
            continue
        name = doc["metadata"]["name"]
        pod, spec = (name, doc["spec"]) if doc["kind"] == "Pod" else (f"{name}-pod-0", doc["spec"]["template"]["spec"])
        for container in spec.get("containers") or []:
            probe = container.get("readinessProbe") or container.get("startupProbe")
            if probe:
                ports = {p["name"]: p["containerPort"] for p in container.get("ports") or [] if "name" in p}
                out.append(ContainerProbe(pod, container["name"], probe, ports, start_budget(container)))
    return out


def port_of(probe: ContainerProbe, spec: dict[str, Any]) -> int:
    port = spec["port"]
    return int(port) if isinstance(port, int) or str(port).isdigit() else probe.ports[port]


def check(probe: ContainerProbe, pod_ip: str) -> None:
    """One probe, as the kubelet runs it; raises with the reason when it fails."""
    p = probe.probe
    if "httpGet" in p:
        spec = p["httpGet"]
        url = f"{spec.get('scheme', 'HTTP').lower()}://{pod_ip}:{port_of(probe, spec)}{spec.get('path', '/')}"
        with urllib.request.urlopen(url, timeout=probe.timeout_s) as reply:
            if not 200 <= reply.status < 400:
                raise RuntimeError(f"GET {url}: {reply.status}")
    elif "grpc" in p:
        grpc_serving(f"{pod_ip}:{port_of(probe, p['grpc'])}", p["grpc"].get("service", ""), probe.timeout_s)
    elif "tcpSocket" in p:
        socket.create_connection((pod_ip, port_of(probe, p["tcpSocket"])), timeout=probe.timeout_s).close()
    elif "exec" in p:
        done = subprocess.run(["podman", "exec", probe.podman_name, *p["exec"]["command"]],
                              capture_output=True, text=True, timeout=probe.timeout_s + 10)
        if done.returncode != 0:
            raise RuntimeError(f"exec {p['exec']['command']}: {done.returncode} {(done.stderr or done.stdout).strip()[-300:]}")
    else:
        raise RuntimeError(f"no probe handler in {sorted(p)}")


def grpc_serving(address: str, service: str, timeout: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                           timeout=timeout)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise RuntimeError(f"gRPC health of {address}: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")


def wait_ready(probes: list[ContainerProbe], pod_ip: str, margin_s: float = MARGIN_S,
               clock: Callable[[], float] = time.monotonic, say: Callable[[str], None] = print) -> bool:
    """Probe every container until each passes once or its bound is over."""
    start = clock()
    waiting = {p.podman_name: p for p in probes}
    last_error: dict[str, str] = {}
    for p in probes:
        say(f"    waiting for {p.podman_name}: {probe_kind(p)} within {p.budget_s + margin_s:.0f} s "
            f"(start budget {p.budget_s:.0f} s + {margin_s:.0f} s)")
    while waiting:
        for name, p in list(waiting.items()):
            try:
                check(p, pod_ip)
            except Exception as exc:  # noqa: BLE001 - any failure is a failed probe, as for the kubelet
                last_error[name] = f"{type(exc).__name__}: {exc}"
                if clock() - start > p.budget_s + margin_s:
                    say(f"!!! {name} not ready after {clock() - start:.1f} s; last probe: {last_error[name]}")
                    for other, q in waiting.items():
                        if other != name:
                            say(f"    also not ready yet: {other} ({last_error.get(other, 'not probed')})")
                    return False
            else:
                say(f"    {name} ready after {clock() - start:.1f} s")
                del waiting[name]
        if waiting:
            time.sleep(POLL_S)
    return True


def probe_kind(p: ContainerProbe) -> str:
    kind = next(k for k in ("httpGet", "grpc", "tcpSocket", "exec") if k in p.probe) if p.probe else "none"
    return {"httpGet": f"GET {p.probe.get('httpGet', {}).get('path', '/')}", "grpc": "gRPC health"}.get(kind, kind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pod-ip", required=True)
    parser.add_argument("--margin", type=float, default=MARGIN_S, help="seconds added to every start budget")
    parser.add_argument("--pods", type=Path, help="only these pods (one name a line; kube_play's stage-N.pods)")
    args = parser.parse_args(argv)
    probes = container_probes(yaml.safe_load_all(sys.stdin))
    if args.pods:
        wanted = set(args.pods.read_text().split())
        probes = [p for p in probes if p.pod in wanted]
    if not probes:
        print("!!! no readiness or startup probe in the manifests", file=sys.stderr)
        return 1
    return 0 if wait_ready(probes, args.pod_ip, args.margin) else 1


if __name__ == "__main__":
    sys.exit(main())
