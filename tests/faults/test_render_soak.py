"""The render service's correctness does not depend on how fast a browser starts.

Real Chromium throughout. At the RendererPool level: a soak of 3,000 renders
with a recycle due every 25 renders per browser (~120 recycles), and a
browser's whole process tree SIGKILLed mid-load. Through the real service
process (NATS, the S3 store): health NOT_SERVING and nothing fetched while
Chromium cannot start, SERVING and rendering once it can; and a start while
the S3 store is down waits instead of exiting.

Bounds, each derived from the configured budgets:
- every render call returns within RendererPool.call_bound_s (3 x render timeout);
  browser starts are never charged to it;
- at most BROWSERS + 2 browsers exist at any moment (K serving, one successor
  starting, one retired browser quitting), and the sampled RSS of the whole
  Chromium tree stays within (K + 2) / K x a fresh pool's x RSS_GROWTH_ALLOWANCE;
- recovery after a failed start comes within START_RETRY_MAX_DELAY_S plus one
  start bound; after the S3 store appears, within S3_RETRY_MAX_DELAY_S plus the
  browsers' start bound.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.errors import NotFoundError

from bench import sample_charts
from chartsnap import queue
from chartsnap.image_store import ImageStore
from devstack.processes import free_port, s3_spec, service_spec, start, wait_until
from chartsnap.v1 import render_pb2
from render_svc.browser_pool import START_RETRY_MAX_DELAY_S, RendererPool
from render_svc.chart_figure import build_figure
from render_svc.chromium_driver import DEFAULT_CHROMIUM_PATH, descendant_pids, is_running, rss_bytes
from render_svc.figure_json import serialize
from render_svc.retry_budget import ACK_WAIT_S
from render_svc.settings import RenderSettings
from render_svc.service import S3_RETRY_MAX_DELAY_S
from render_svc.warm_renderer import DEFAULT_RENDER_TIMEOUT_S, DEFAULT_START_TIMEOUT_S, BrowserOptions
from render_svc.worker import CAN_RENDER_POLL_S

os.environ.setdefault("BOKEH_IN_DOCKER", "1")

BROWSERS = 2
CALLERS = BROWSERS + 1  # as many as the service's default render slots (render_svc.settings)
SOAK_RENDERS = 3000
MAX_RENDERS = 25
EXPECTED_RECYCLES = SOAK_RENDERS // MAX_RENDERS
# A browser's tree grows a little while it serves its quota (and the renders
# it does while its successor starts); a leak would grow it without bound.
RSS_GROWTH_ALLOWANCE = 1.25
SAMPLE_EVERY_S = 0.25
S = render_pb2.RenderResult

pytestmark = [pytest.mark.browser]


def small_charts() -> list[tuple[str, int, int]]:
    """Serialised once: the soak is about browsers, not about building figures."""
    specs = [sample_charts.line_chart(points=30, width=320, height=200),
             sample_charts.stacked_chart(points=30, width=320, height=200),
             sample_charts.big_number_chart(42.0, width=200, height=120)]
    return [(serialize(build_figure(spec)), spec.width, spec.height) for spec in specs]


class TreeSampler:
    """Samples the browsers this test process started (its chromedrivers and
    the Chromium below them) in the background: peak summed RSS, peak number
    of browsers, every pid."""

    def __init__(self) -> None:
        self.peak_rss = 0
        self.peak_browsers = 0
        self.samples = 0
        self.pids_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            drivers = own_chromedrivers()
            pids = browser_trees(drivers)
            self.pids_seen.update(pids)
            self.peak_rss = max(self.peak_rss, rss_bytes(pids))
            self.peak_browsers = max(self.peak_browsers, len(drivers))
            self.samples += 1
            self._stop.wait(SAMPLE_EVERY_S)


def own_chromedrivers() -> list[int]:
    """The chromedrivers this test process started itself (the pool's): its
    direct children. A session's whole stack may run below this process too
    (its render_svc has browsers of its own); those are not the pool's."""
    found = []
    for pid in descendant_pids(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "chromedriver" and int(stat[stat.rfind(b")") + 2:].split()[1]) == os.getpid():
            found.append(pid)
    return found


def browser_trees(drivers: list[int]) -> list[int]:
    return [*drivers, *(pid for driver in drivers for pid in descendant_pids(driver))]


def tree_rss() -> int:
    return rss_bytes(browser_trees(own_chromedrivers()))


def still_running(pids: set[int], grace_s: float) -> list[int]:
    deadline = time.monotonic() + grace_s
    while True:
        alive = [pid for pid in pids if is_running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def render_concurrently(pool: RendererPool, count: int, on_render=None) -> tuple[list[float], list[BaseException]]:  # noqa: ANN001
    """`count` renders from CALLERS threads; per-call latencies and failures."""
    items = small_charts()
    latencies: list[float] = []
    failures: list[BaseException] = []

    def one(i: int) -> None:
        item_json, width, height = items[i % len(items)]
        started = time.monotonic()
        try:
            png = pool.render(item_json, width, height)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
        except BaseException as exc:  # noqa: BLE001 - counted, asserted on below
            failures.append(exc)
        latencies.append(time.monotonic() - started)
        if on_render is not None:
            on_render(i)

    with ThreadPoolExecutor(max_workers=CALLERS, thread_name_prefix="caller") as executor:
        list(executor.map(one, range(count)))
    return latencies, failures


# Each recycle's start is bounded by its start timeout and starts are serial,
# so the soak cannot legitimately outlast every expected start at its bound.
@pytest.mark.timeout(EXPECTED_RECYCLES * DEFAULT_START_TIMEOUT_S)
def test_soak_3000_renders_recycling_every_25_renders_per_browser() -> None:
    """0 failures; every call within call_bound_s; at most BROWSERS + 2 browsers
    and (K + 2) / K x fresh RSS x RSS_GROWTH_ALLOWANCE; recycles between
    RENDERS / (MAX_RENDERS + overrun) - K and RENDERS / MAX_RENDERS, where the
    overrun (renders a due browser serves until its successor is ready) is at
    most the pool's render rate times K starts at the slowest measured start."""
    pool = RendererPool(size=BROWSERS, options=BrowserOptions(max_renders=MAX_RENDERS,
                                                             render_timeout_s=DEFAULT_RENDER_TIMEOUT_S,
                                                             start_timeout_s=DEFAULT_START_TIMEOUT_S))
    try:
        fresh_rss = tree_rss()
        started = time.monotonic()
        with TreeSampler() as sampler:
            latencies, failures = render_concurrently(pool, SOAK_RENDERS)
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    leftovers = still_running(sampler.pids_seen, grace_s=2.0)

    rate = SOAK_RENDERS / elapsed
    overrun = rate * BROWSERS * pool.slowest_start_s
    rss_bound = (BROWSERS + 2) / BROWSERS * fresh_rss * RSS_GROWTH_ALLOWANCE
    print(f"\nsoak on {os.cpu_count()} cores: {SOAK_RENDERS} renders in {elapsed:.0f}s = {rate:.1f} renders/s, "
          f"p50 {statistics.median(latencies) * 1e3:.0f} ms, max {max(latencies):.2f}s; "
          f"{pool.browser_starts} browser starts ({pool.start_failures} failed), {pool.browser_recycles} recycles "
          f"(expected ~{EXPECTED_RECYCLES}), {pool.browser_replacements} replacements, slowest start "
          f"{pool.slowest_start_s:.1f}s; RSS fresh {fresh_rss / 2**20:.0f} MiB, peak {sampler.peak_rss / 2**20:.0f} MiB "
          f"(bound {rss_bound / 2**20:.0f} MiB), peak browsers {sampler.peak_browsers}, {sampler.samples} samples")

    assert failures == [], f"{len(failures)} renders failed, first: {failures[:1]}"
    assert pool.total_renders == SOAK_RENDERS
    assert max(latencies) <= pool.call_bound_s
    assert pool.browser_replacements == 0 and pool.start_failures == 0
    assert pool.browser_starts == BROWSERS + pool.browser_recycles  # every start became a serving browser
    assert SOAK_RENDERS / (MAX_RENDERS + overrun) - BROWSERS <= pool.browser_recycles <= EXPECTED_RECYCLES
    assert sampler.peak_browsers <= BROWSERS + 2
    assert sampler.peak_rss <= rss_bound
    assert leftovers == [], "Chromium processes outlived the pool"


@pytest.mark.timeout(DEFAULT_START_TIMEOUT_S + 3 * DEFAULT_RENDER_TIMEOUT_S * 200 / CALLERS)
def test_browser_tree_killed_mid_load_fails_no_render_and_is_replaced() -> None:
    """One SIGKILL of every process of one browser's tree (chromedriver and
    Chromium) while CALLERS threads render 200 charts: 0 failed renders, every
    call within call_bound_s, exactly one replacement, started within the
    start bound, and none of the killed pids alive afterwards."""
    renders, kill_at = 200, 50
    pool = RendererPool(size=BROWSERS, options=BrowserOptions(max_renders=10 * renders,
                                                             start_timeout_s=DEFAULT_START_TIMEOUT_S))
    killed: list[int] = []
    first_pids = set(pool.browser_pids())

    def kill_one_browser(i: int) -> None:
        if i == kill_at and not killed:
            victim = pool.browsers[0]
            pids = victim.process_tree_pids()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pids)

    try:
        latencies, failures = render_concurrently(pool, renders, on_render=kill_one_browser)
        wait_until("the replacement browser", lambda: pool.ready_count == BROWSERS and pool.browser_starts == 3,
                   timeout=DEFAULT_START_TIMEOUT_S)
        replacement_pids = set(pool.browser_pids()) - first_pids
        print(f"\nkilled {len(killed)} processes of one browser; {pool.browser_replacements} replaced, "
              f"{pool.browser_starts} starts, max call {max(latencies):.2f}s")
        assert len(killed) >= 2, "chromedriver and at least one Chromium process were killed"
        assert failures == [], f"{len(failures)} renders failed, first: {failures[:1]}"
        assert pool.total_renders == renders
        assert max(latencies) <= pool.call_bound_s
        assert pool.browser_replacements == 1
        assert replacement_pids and not replacement_pids & set(killed)
        assert still_running(set(killed), grace_s=2.0) == []
    finally:
        pool.close()


# -- through the service process ----------------------------------------------------


def health_status(address: str) -> int | None:
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
    except grpc.RpcError:
        return None
    return reply.status


NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


def serving(address: str):  # noqa: ANN201
    async def check() -> bool:
        return health_status(address) == SERVING
    return check


def render_svc_spec(infra, tmp_path: Path, ready, timeout: float, **env: str):  # noqa: ANN001, ANN201
    # A short TMPDIR: Chromium's profile dir holds a unix socket, whose path
    # must stay under 108 bytes (pytest's tmp_path is too deep for that).
    short_tmp = Path(tempfile.mkdtemp(prefix="cs-render-"))
    return service_spec("render_svc", {**infra.service_env("render_svc"), "CHARTSNAP_RENDER_BROWSERS": "1",
                                       "CHARTSNAP_RENDER_SLOTS": "1", **env},
                        tmp_path / "logs", ready, timeout, tmp_dir=short_tmp)


def render_request(snapshot_id: int) -> render_pb2.RenderRequest:
    now = time.time()
    request = render_pb2.RenderRequest(
        snapshot_id=snapshot_id, job_id=snapshot_id, image_key=f"chart/faults-{snapshot_id}.png", title="Faults",
        chart_type="line", width=400, height=240, start=now - 600, end=now, enqueued_at=now)
    request.series.add(label="a", times=[now - 600 + 10 * i for i in range(60)],
                       values=[float(i % 7) for i in range(60)])
    return request


async def consumer_counts(js) -> tuple[int, int] | None:  # noqa: ANN001
    """(pending, ack pending) of the render workers' consumer, None before it exists."""
    try:
        info = await js.consumer_info(queue.RENDER_STREAM, queue.RENDER_WORKERS)
    except NotFoundError:
        return None
    return info.num_pending, info.num_ack_pending


async def wait_for(what: str, check, timeout: float, every: float = CAN_RENDER_POLL_S):  # noqa: ANN001, ANN201
    """Poll the coroutine function `check` until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        await asyncio.sleep(every)


async def results_of(js, snapshot_id: int, timeout: float) -> set[int]:  # noqa: ANN001
    """States reported for `snapshot_id` once SUCCEEDED or FAILED arrived."""
    sub = await js.pull_subscribe(queue.RENDER_RESULTS, durable=f"faults-{snapshot_id}", stream=queue.RESULTS_STREAM)
    states: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while not states & {S.SUCCEEDED, S.FAILED} and time.monotonic() < deadline:
            try:
                for msg in await sub.fetch(10, timeout=1.0):
                    result = render_pb2.RenderResult.FromString(msg.data)
                    if result.snapshot_id == snapshot_id:
                        states.add(result.state)
                    await msg.ack()
            except nats.errors.TimeoutError:
                pass
    finally:
        await js.delete_consumer(queue.RESULTS_STREAM, f"faults-{snapshot_id}")
    return states


@pytest.mark.timeout(4 * (START_RETRY_MAX_DELAY_S + DEFAULT_START_TIMEOUT_S))
async def test_not_serving_and_fetching_nothing_while_chromium_cannot_start(infra, tmp_path: Path) -> None:  # noqa: ANN001
    """Chromium is a wrapper that exits at once while a flag file exists (each
    launch counted). Health stays NOT_SERVING and the request published
    meanwhile is not taken (0 ack pending) over two start-retry rounds; once
    the flag is gone, health is SERVING and the request SUCCEEDED within
    START_RETRY_MAX_DELAY_S + a start bound + a render budget."""
    flag, launches = tmp_path / "chromium-broken", tmp_path / "launches"
    flag.touch()
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\necho x >> {launches}\n[ -e {flag} ] && exit 1\nexec {DEFAULT_CHROMIUM_PATH} "$@"\n')
    wrapper.chmod(0o755)
    health_addr = f"127.0.0.1:{free_port()}"
    spec = render_svc_spec(infra, tmp_path, lambda: health_status(health_addr) is not None,
                           DEFAULT_START_TIMEOUT_S, CHARTSNAP_RENDER_CHROMIUM_PATH=str(wrapper),
                           CHARTSNAP_RENDER_HEALTH_ADDR=health_addr, CHARTSNAP_RENDER_METRICS_ADDR="127.0.0.1:0")
    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    await js.purge_stream(queue.RENDER_STREAM)
    process = start(spec)
    try:
        # The worker's consumer exists once the service has started (its first starts failed).
        await wait_for("the render workers' consumer", lambda: consumer_counts(js), DEFAULT_START_TIMEOUT_S)
        request = render_request(8101)
        await js.publish(queue.RENDER_REQUESTS, request.SerializeToString())
        failed_launches = len(launches.read_text().splitlines())
        # Two more failed start rounds while the request waits on the queue.
        watch_until = time.monotonic() + 2 * CAN_RENDER_POLL_S

        async def two_more_launches() -> bool:
            assert health_status(health_addr) == NOT_SERVING
            assert await consumer_counts(js) == (1, 0), "a request was fetched while nothing can render"
            return len(launches.read_text().splitlines()) >= failed_launches + 2 and time.monotonic() > watch_until

        await wait_for("two more failed starts", two_more_launches, 3 * START_RETRY_MAX_DELAY_S)
        injected = len(launches.read_text().splitlines())

        flag.unlink()
        recovery_bound = START_RETRY_MAX_DELAY_S + DEFAULT_START_TIMEOUT_S
        await wait_for("SERVING after Chromium can start", serving(health_addr), recovery_bound)
        states = await results_of(js, request.snapshot_id, timeout=DEFAULT_RENDER_TIMEOUT_S + ACK_WAIT_S)
        print(f"\n{injected} Chromium launches failed on purpose; then SERVING and rendered")
        assert injected >= 3
        assert S.SUCCEEDED in states
        images = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
        assert images.get(request.image_key)[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        process.stop()
        await nc.close()


@pytest.mark.timeout(4 * (S3_RETRY_MAX_DELAY_S + DEFAULT_START_TIMEOUT_S))
async def test_start_waits_for_the_s3_store_instead_of_exiting(infra, tmp_path: Path) -> None:  # noqa: ANN001
    """The S3 endpoint has nothing listening: the service stays up and
    NOT_SERVING over at least three failed attempts (counted in its log);
    once an S3 store listens there, SERVING within S3_RETRY_MAX_DELAY_S plus
    the browsers' start bound."""
    s3_port = free_port()
    health_addr = f"127.0.0.1:{free_port()}"
    spec = render_svc_spec(infra, tmp_path, lambda: health_status(health_addr) is not None,
                           DEFAULT_START_TIMEOUT_S, CHARTSNAP_S3_ENDPOINT=f"127.0.0.1:{s3_port}",
                           CHARTSNAP_RENDER_HEALTH_ADDR=health_addr, CHARTSNAP_RENDER_METRICS_ADDR="127.0.0.1:0")
    process = start(spec)
    s3 = None
    try:
        def failed_attempts() -> int:
            return process.log_path.read_text(errors="replace").count("waiting for the S3 store")

        async def three_failures() -> bool:
            assert process.popen.poll() is None, "the render service exited while the S3 store was down"
            assert health_status(health_addr) == NOT_SERVING
            return failed_attempts() >= 3

        await wait_for("three failed S3 attempts", three_failures, 3 * S3_RETRY_MAX_DELAY_S)
        injected = failed_attempts()
        s3_dir = tmp_path / "s3-data"
        s3_dir.mkdir()
        s3 = start(s3_spec(s3_port, s3_dir, tmp_path / "logs", infra.creds))
        await wait_for("SERVING once the S3 store is up", serving(health_addr),
                       S3_RETRY_MAX_DELAY_S + DEFAULT_START_TIMEOUT_S)
        print(f"\n{injected} attempts to reach the S3 store failed; then SERVING")
        assert process.popen.poll() is None
    finally:
        process.stop()
        if s3 is not None:
            s3.stop()


def metric_value(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{labels} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{labels} not exported")


REPRO_REQUESTS = 120
REPRO_RATE = 8.0  # requests per second, as in the fault campaign that found the wedge
REPRO_TOTAL_BUDGET_S = RenderSettings.from_env({}).total_budget  # the service's default


@pytest.mark.timeout(REPRO_REQUESTS / REPRO_RATE + REPRO_TOTAL_BUDGET_S + 2 * DEFAULT_START_TIMEOUT_S)
async def test_service_renders_every_request_while_recycling_every_25(infra, tmp_path: Path) -> None:  # noqa: ANN001
    """The campaign's reproduction through the real service process (NATS,
    the S3 store, two browsers, CHARTSNAP_RENDER_MAX_PER_BROWSER=25): 120
    requests published at 8/s. Every one SUCCEEDED, none FAILED, all within
    publishing time + the service's total render budget; the service
    recycled browsers (counted from its /metrics) and stayed SERVING."""
    import urllib.request

    health_addr, metrics_port = f"127.0.0.1:{free_port()}", free_port()
    spec = render_svc_spec(infra, tmp_path, lambda: health_status(health_addr) == SERVING, DEFAULT_START_TIMEOUT_S,
                           CHARTSNAP_RENDER_BROWSERS=str(BROWSERS), CHARTSNAP_RENDER_SLOTS=str(CALLERS),
                           CHARTSNAP_RENDER_MAX_PER_BROWSER=str(MAX_RENDERS),
                           CHARTSNAP_RENDER_HEALTH_ADDR=health_addr,
                           CHARTSNAP_RENDER_METRICS_ADDR=f"127.0.0.1:{metrics_port}")
    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    await js.purge_stream(queue.RENDER_STREAM)
    await js.purge_stream(queue.RESULTS_STREAM)
    process = start(spec)
    first_id = 8200
    ids = set(range(first_id, first_id + REPRO_REQUESTS))
    sub = await js.pull_subscribe(queue.RENDER_RESULTS, durable="faults-repro", stream=queue.RESULTS_STREAM)
    try:
        started = time.monotonic()
        for snapshot_id in sorted(ids):
            await js.publish(queue.RENDER_REQUESTS, render_request(snapshot_id).SerializeToString())
            await asyncio.sleep(1 / REPRO_RATE)
        succeeded: set[int] = set()
        failed: dict[int, str] = {}
        not_serving_seen = 0
        deadline = started + REPRO_REQUESTS / REPRO_RATE + REPRO_TOTAL_BUDGET_S
        while succeeded | set(failed) != ids and time.monotonic() < deadline:
            if health_status(health_addr) != SERVING:
                not_serving_seen += 1
            try:
                for msg in await sub.fetch(50, timeout=1.0):
                    result = render_pb2.RenderResult.FromString(msg.data)
                    if result.state == S.SUCCEEDED:
                        succeeded.add(result.snapshot_id)
                    elif result.state == S.FAILED:
                        failed[result.snapshot_id] = result.error
                    await msg.ack()
            except nats.errors.TimeoutError:
                pass
        elapsed = time.monotonic() - started
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        recycled = metric_value(metrics, "chartsnap_render_browser_restarts_total", '{reason="recycled"}')
        starts = metric_value(metrics, "chartsnap_render_browser_starts_total", '{outcome="started"}')
        print(f"\n{len(succeeded)}/{REPRO_REQUESTS} rendered in {elapsed:.0f}s, {len(failed)} failed; "
              f"{starts:.0f} browser starts, {recycled:.0f} recycles")
        assert failed == {}
        assert succeeded == ids
        assert recycled >= 1 and starts == BROWSERS + recycled
        assert not_serving_seen == 0
    finally:
        await js.delete_consumer(queue.RESULTS_STREAM, "faults-repro")
        process.stop()
        await nc.close()
