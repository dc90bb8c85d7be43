"""tests/deploy_live/readiness.py: the manifests' probes, run as the kubelet
would, each container within its own start budget."""

from __future__ import annotations

import http.server
import threading

from tests.deploy_live.readiness import container_probes, start_budget, wait_ready


def workload(probe: dict, ports: list | None = None, startup: dict | None = None) -> dict:
    container = {"name": "web", "readinessProbe": probe, "ports": ports or []}
    if startup:
        container["startupProbe"] = startup
    return {"kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [container]}}}}


def test_the_start_budget_is_the_startup_probe_s_else_the_readiness_probe_s():
    assert start_budget({"startupProbe": {"periodSeconds": 5, "failureThreshold": 120, "initialDelaySeconds": 3},
                         "readinessProbe": {"periodSeconds": 1}}) == 603
    assert start_budget({"readinessProbe": {"periodSeconds": 5}}) == 15   # Kubernetes' default threshold, 3
    assert start_budget({"readinessProbe": {}}) == 30


def test_probes_are_found_per_pod_as_kube_play_names_it():
    [probe] = container_probes([workload({"httpGet": {"path": "/healthz", "port": "http"}},
                                         [{"name": "http", "containerPort": 48080}]),
                                {"kind": "Service", "metadata": {"name": "web"}}, None])
    assert (probe.pod, probe.podman_name, probe.ports) == ("web-pod-0", "web-pod-0-web", {"http": 48080})


def test_a_pod_is_ready_when_its_probe_passes_and_not_before_its_bound_ends():
    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        said: list[str] = []
        ok = container_probes([workload({"httpGet": {"path": "/healthz", "port": "http"}},
                                        [{"name": "http", "containerPort": port}])])
        assert wait_ready(ok, "127.0.0.1", margin_s=5, say=said.append)
        assert said[-1].startswith("    web-pod-0-web ready after")
        failing = container_probes([workload({"httpGet": {"path": "/broken", "port": port}, "periodSeconds": 1,
                                              "failureThreshold": 1})])
        said.clear()
        assert not wait_ready(failing, "127.0.0.1", margin_s=0.5, say=said.append)
        assert "web-pod-0-web not ready after" in said[-1] and "503" in said[-1]
    finally:
        server.shutdown()
