"""Prometheus metrics: the shared /metrics server, the gateway's request
histogram, the snapshot service's RPC and job histograms, the render
service's step histograms and settings."""

from __future__ import annotations

import time
import urllib.request

import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from chartsnap.grpc_server import add_health, bind, mark_serving
from chartsnap.metrics import serve_metrics
from gateway.request_metrics import request_metrics_middleware
from render_svc import render_metrics
from render_svc.settings import RenderSettings
from render_svc.worker import Timings
from snapshot_svc.snapshot_metrics import RpcMetricsInterceptor, observe_job_completed
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate
from snapshot_svc.tables import jobs


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_server_binds_port_zero_and_serves_the_registry() -> None:
    server = serve_metrics("127.0.0.1:0")
    try:
        assert server.port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as reply:
            body = reply.read().decode()
        assert "chartsnap_render_embed_seconds_bucket" in body
        assert "process_cpu_seconds_total" in body or "python_info" in body
    finally:
        server.close()


def test_metrics_server_fails_loudly_when_the_port_is_taken() -> None:
    first = serve_metrics("127.0.0.1:0")
    try:
        with pytest.raises(OSError):
            serve_metrics(f"127.0.0.1:{first.port}")
    finally:
        first.close()


async def test_gateway_records_route_template_and_final_status() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({}, status=202)

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application(middlewares=[request_metrics_middleware])
    app.add_routes([web.post("/v1/things", ok), web.get("/v1/things/{id}", missing)])
    name = "chartsnap_gateway_request_seconds_count"
    before_ok = sample(name, method="POST", route="/v1/things", status="202")
    before_missing = sample(name, method="GET", route="/v1/things/{id}", status="404")
    async with TestClient(TestServer(app)) as client:
        assert (await client.post("/v1/things")).status == 202
        assert (await client.get("/v1/things/42")).status == 404
        assert (await client.get("/v1/things/43")).status == 404
    # The gateway serves them from its own metrics address (serve_metrics).
    server = serve_metrics("127.0.0.1:0")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as exposition:
            assert exposition.headers["Content-Type"].startswith("text/plain")
            assert "chartsnap_gateway_request_seconds_bucket" in exposition.read().decode()
    finally:
        server.close()
    assert sample(name, method="POST", route="/v1/things", status="202") == before_ok + 1
    # Ids are folded into the route template: one series however many ids.
    assert sample(name, method="GET", route="/v1/things/{id}", status="404") == before_missing + 2


async def test_rpc_interceptor_times_calls_by_method_and_code() -> None:
    server = grpc.aio.server(interceptors=[RpcMetricsInterceptor()])
    health = add_health(server)
    port = bind(server, "127.0.0.1:0")
    await server.start()
    await mark_serving(health, [])
    name = "chartsnap_snapshot_rpc_seconds_count"
    ok_before = sample(name, method="Check", code="OK")
    missing_before = sample(name, method="Check", code="NOT_FOUND")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
            assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await server.stop(0)
    assert sample(name, method="Check", code="OK") == ok_before + 1
    assert sample(name, method="Check", code="NOT_FOUND") == missing_before + 1


def test_job_completion_is_observed_once_with_its_create_to_complete_time(db_engine, acct) -> None:
    store = SnapshotStore(db_engine)
    created_at = time.time()
    snap = store.create(acct, validate(SnapshotInput(chart_id=1, chart_type="line"), created_at), created_at)
    name = "chartsnap_snapshot_job_complete_seconds"
    count_before, sum_before = sample(f"{name}_count"), sample(f"{name}_sum")

    completed_at = created_at + 0.25
    done = store.render_succeeded(snap["id"], snap["assigned_image_key"], completed_at)
    assert done.deliveries_pending is False
    observe_job_completed(done)
    assert sample(f"{name}_count") == count_before + 1
    assert sample(f"{name}_sum") - sum_before == pytest.approx(0.25, abs=1e-3)

    # A redelivered SUCCEEDED changes nothing and must not count twice.
    later = completed_at + 5
    observe_job_completed(store.render_succeeded(snap["id"], snap["assigned_image_key"], later))
    assert sample(f"{name}_count") == count_before + 1


def test_job_still_working_is_not_observed(db_engine, acct) -> None:
    store = SnapshotStore(db_engine)
    now = time.time()
    valid = validate(SnapshotInput(chart_id=1, chart_type="line", services=("1", "2")), now)
    snap = store.create(acct, valid, now, {"1": "slack", "2": "mail"})
    before = sample("chartsnap_snapshot_job_complete_seconds_count")
    rendered = store.render_succeeded(snap["id"], snap["assigned_image_key"], now + 0.1)
    assert rendered.deliveries_pending and rendered.completed_in is None
    observe_job_completed(rendered)
    observe_job_completed(store.delivery_ended(snap["id"], "1", "delivered", 1, "", now + 0.2))
    assert sample("chartsnap_snapshot_job_complete_seconds_count") == before
    with db_engine.connect() as conn:
        assert conn.execute(jobs.select()).first().state == "working"
    # The last delivery completes it, once: a redelivered result counts nothing.
    observe_job_completed(store.delivery_ended(snap["id"], "2", "failed", 3, "HTTP 500", now + 0.5))
    observe_job_completed(store.delivery_ended(snap["id"], "2", "failed", 3, "HTTP 500", now + 0.6))
    assert sample("chartsnap_snapshot_job_complete_seconds_count") == before + 1


def test_render_job_observer_fills_every_step_histogram() -> None:
    steps = ("queue_wait", "serialize", "embed", "capture", "upload", "total")
    before = {s: sample(f"chartsnap_render_{s}_seconds_count") for s in steps}
    ok_before = sample("chartsnap_renders_total", outcome="succeeded")
    failed_before = sample("chartsnap_renders_total", outcome="failed")
    render_metrics.observe_job(Timings(queue_wait=0.004, serialize=0.03, embed=0.04, capture=0.02,
                                       render=0.06, upload=0.005, total=0.1))
    render_metrics.observe_job(Timings(total=0.2, outcome="failed"))
    for step in steps:
        assert sample(f"chartsnap_render_{step}_seconds_count") == before[step] + 1, step
    assert sample("chartsnap_renders_total", outcome="succeeded") == ok_before + 1
    assert sample("chartsnap_renders_total", outcome="failed") == failed_before + 1


def test_render_observer_counts_patched_and_full_embeds_of_succeeded_renders_only() -> None:
    before = {kind: sample("chartsnap_render_embeds_total", kind=kind) for kind in ("patched", "full")}
    render_metrics.observe_job(Timings(total=0.05, patched=True))
    render_metrics.observe_job(Timings(total=0.05, patched=True))
    render_metrics.observe_job(Timings(total=0.1))
    render_metrics.observe_job(Timings(total=0.2, outcome="retried", patched=True))
    assert sample("chartsnap_render_embeds_total", kind="patched") == before["patched"] + 2
    assert sample("chartsnap_render_embeds_total", kind="full") == before["full"] + 1


def test_render_settings_metrics_address_and_slots_default_to_one_more_than_browsers() -> None:
    settings = RenderSettings.from_env({"CHARTSNAP_RENDER_BROWSERS": "3"})
    assert (settings.browsers, settings.slots) == (3, 4)
    assert settings.metrics_addr == "127.0.0.1:9102"
    custom = RenderSettings.from_env({"CHARTSNAP_RENDER_BROWSERS": "2", "CHARTSNAP_RENDER_SLOTS": "2",
                                      "CHARTSNAP_RENDER_METRICS_ADDR": "0.0.0.0:9999"})
    assert (custom.browsers, custom.slots, custom.metrics_addr) == (2, 2, "0.0.0.0:9999")


def test_render_settings_full_embed_every_defaults_to_the_renderers_and_refuses_under_one() -> None:
    from chartsnap.settings import SettingsError
    from render_svc.warm_renderer import DEFAULT_FULL_EMBED_EVERY

    assert RenderSettings.from_env({}).full_embed_every == DEFAULT_FULL_EMBED_EVERY
    assert RenderSettings.from_env({"CHARTSNAP_RENDER_FULL_EMBED_EVERY": "1"}).full_embed_every == 1
    for bad in ("0", "-3", "many"):
        with pytest.raises(SettingsError, match="CHARTSNAP_RENDER_FULL_EMBED_EVERY"):
            RenderSettings.from_env({"CHARTSNAP_RENDER_FULL_EMBED_EVERY": bad})
