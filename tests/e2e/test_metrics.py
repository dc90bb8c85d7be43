"""Every service exposes its per-step timings on /metrics, and one snapshot
taken through the gateway shows up in each of them."""

from __future__ import annotations

import time
import urllib.request

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import Stack
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_one_snapshot_is_timed_by_every_service(stack: Stack, api: Api) -> None:
    now = int(time.time())
    points = [{"name": "metrics.test", "value": float(i % 7), "time": t, "tags": {"host": "a"}}
              for i, t in enumerate(range(now - 600, now, 30))]
    assert api.post("/v1/measurements", json={"measurements": points}).status_code == 202
    _, chart_id = api.make_chart("Metrics", "line", [{"metric": "metrics.test"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                              "duration": 600})
    assert created.status_code == 202, created.text
    assert api.wait_for_job(created.json()["job_href"])["state"] == "complete"

    # The gateway serves /metrics on its own address, not on the public port.
    assert requests.get(f"{stack.gateway_url}/metrics", timeout=10).status_code == 404
    gateway = scrape(f"http://{stack.env['CHARTSNAP_GATEWAY_METRICS_ADDR']}/metrics")
    assert value(gateway, "chartsnap_gateway_request_seconds_count",
                 method="POST", route="/v1/snapshots", status="202") >= 1
    assert value(gateway, "chartsnap_gateway_request_seconds_count",
                 method="GET", route="/v1/jobs/{id}", status="200") >= 1

    snapshot_svc = scrape(f"http://{stack.env['CHARTSNAP_SNAPSHOT_METRICS_ADDR']}/metrics")
    assert value(snapshot_svc, "chartsnap_snapshot_rpc_seconds_count", method="CreateSnapshot", code="OK") >= 1
    assert value(snapshot_svc, "chartsnap_snapshot_job_complete_seconds_count") >= 1

    render_svc = scrape(f"http://{stack.env['CHARTSNAP_RENDER_METRICS_ADDR']}/metrics")
    for step in ("queue_wait", "serialize", "embed", "capture", "upload", "total"):
        assert value(render_svc, f"chartsnap_render_{step}_seconds_count") >= 1, step
    assert value(render_svc, "chartsnap_renders_total", outcome="succeeded") >= 1
    assert ("chartsnap_render_browser_restarts_total", (("reason", "replaced"),)) in render_svc
    assert value(render_svc, "chartsnap_render_browser_rss_bytes") > 0
