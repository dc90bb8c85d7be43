"""The render worker: pulls RenderRequests from JetStream, only as many as it
has free render slots, draws each in a warm browser, stores the PNG and
reports the result.

Per message: STARTED is published while the chart is planned and serialised
(render_svc.figure_templates) in a thread (overlapping other slots' renders), a free browser draws it, the
request's summary is written into the PNG (render_svc.png_text), the PNG is
uploaded, SUCCEEDED (with the SHA-256 of exactly the stored bytes) is
published, and only then the message is acked —
so a crash anywhere means redelivery, and redelivery rewrites the same object
key. While a render runs, `in_progress` keeps the message from being
redelivered. There is one slot more than browsers by default (see
render_svc.settings), so the next job is already serialised when a browser
frees up. `observer` receives each attempt's step timings (render_metrics).

Retries are bounded in attempts and in time (render_svc.retry_budget). While
the renderer cannot render (no browser serving and its latest start failed)
the worker fetches nothing: the requests stay on the queue for a replica
that can."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Literal

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from chartsnap import logs, message_ids, queue, request_ids
from chartsnap.pull_consumer import WorkSlots
from chartsnap.v1 import render_pb2
from chartsnap.image_store import ImageStore
from render_svc.browser_pool import RendererPool
from render_svc.figure_json import FigureItem
from render_svc.figure_templates import figure_item
from render_svc.png_text import SOFTWARE, with_text
from render_svc.render_errors import ChartScriptError
from render_svc.request_spec import capture_scale, spec_from_request
from render_svc.retry_budget import ACK_WAIT_S, Verdict, after_failure, crashed_deliveries, default_total_budget

log = logging.getLogger(__name__)

HEARTBEAT = 5.0  # in_progress interval, well under ACK_WAIT_S
CAN_RENDER_POLL_S = 0.5  # how often a worker that cannot render looks again
# The word each result state puts in its Nats-Msg-Id (one message per state).
RESULT_ID_SUFFIX = {render_pb2.RenderResult.STARTED: "started", render_pb2.RenderResult.SUCCEEDED: "done",
                    render_pb2.RenderResult.FAILED: "failed"}


@dataclass
class Timings:
    """Seconds spent per step of one delivery of a render request."""

    queue_wait: float = 0.0  # enqueued_at (snapshot service) -> taken by a slot
    serialize: float = 0.0   # plan the chart, fill its shape's template (or build one) into a json_item
    embed: float = 0.0       # BokehJS embeds and paints it
    capture: float = 0.0     # CDP screenshot of the element
    render: float = 0.0      # embed + capture as seen by the worker (adds waiting for a browser thread)
    upload: float = 0.0
    total: float = 0.0       # message taken -> acked
    patched: bool = False    # the page patched the document it held instead of embedding afresh
    outcome: Literal["succeeded", "retried", "failed"] = "succeeded"


JobObserver = Callable[[Timings], None]


def in_context(fn: Callable) -> Callable:
    """`fn` to run in an executor thread with this task's log context
    (run_in_executor, unlike asyncio.to_thread, does not carry it)."""
    return functools.partial(contextvars.copy_context().run, fn)


def _serialised(request: render_pb2.RenderRequest) -> tuple[FigureItem, int, int, float]:
    """The chart's json_item (and patch), the size to capture it at (CSS pixels) and the device scale."""
    spec = spec_from_request(request)
    return figure_item(spec), spec.width, spec.height, capture_scale(request)


def stored_png(request: render_pb2.RenderRequest, captured: bytes) -> bytes:
    """The PNG as stored: the capture with the request's summary and the software's name in text chunks."""
    return with_text(captured, {"Software": SOFTWARE, "Description": request.summary})


def _reported(base: render_pb2.RenderResult, state: int, error: str = "") -> render_pb2.RenderResult:
    """The result for one request (`base` names it) in one state."""
    result = render_pb2.RenderResult()
    result.CopyFrom(base)
    result.state = state
    result.error = error
    return result


class RenderWorker:
    def __init__(self, js: JetStreamContext, pool: RendererPool, images: ImageStore, slots: int,
                 max_attempts: int, observer: JobObserver | None = None,
                 total_budget: float | None = None) -> None:
        self.js = js
        self.pool = pool
        self.images = images
        self.slots = slots
        self.max_attempts = max_attempts
        self.total_budget = (total_budget if total_budget is not None
                             else default_total_budget(max_attempts, pool.render_timeout_s))
        self.free = WorkSlots(slots)
        # Browser calls block; one thread per browser so every browser can draw at
        # once, while jobs beyond that wait in the executor's queue (FIFO).
        self.browser_threads = ThreadPoolExecutor(max_workers=pool.size, thread_name_prefix="render")
        # Building and serialising a figure is pure Python under the GIL: two at
        # once would each take twice as long, so one thread finishes jobs sooner.
        self.cpu_threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serialize")
        self.io_threads = ThreadPoolExecutor(max_workers=max(4, slots), thread_name_prefix="upload")
        self.observer = observer

    async def run(self) -> None:
        sub = await self.js.pull_subscribe(
            queue.RENDER_REQUESTS, durable=queue.RENDER_WORKERS, stream=queue.RENDER_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S,
                                  max_deliver=self.max_attempts + 2, max_ack_pending=1000),
        )
        while True:
            await self._until_able_to_render()
            for msg in await self.free.fetch(sub, "render requests"):
                self.free.start(msg, self._work, HEARTBEAT)

    async def _until_able_to_render(self) -> None:
        if self.pool.can_render():
            return
        log.warning("no browser can render: taking no render requests until one starts")
        while not self.pool.can_render():
            await asyncio.sleep(CAN_RENDER_POLL_S)
        log.info("a browser is serving again: taking render requests")

    async def _publish(self, result: render_pb2.RenderResult) -> None:
        suffix = RESULT_ID_SUFFIX[result.state]
        await queue.publish(self.js, queue.RENDER_RESULTS, result.SerializeToString(),
                            message_ids.render_result_id(result.snapshot_id, suffix))

    async def _work(self, msg) -> None:  # noqa: ANN001 - nats Msg
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        timings = Timings()
        try:
            request = render_pb2.RenderRequest.FromString(msg.data)
        except Exception:  # noqa: BLE001 - unreadable now means unreadable forever
            log.error("dropping unreadable render request")
            await msg.term()
            return
        # Every line about this request names its snapshot and job (its
        # request id is bound already: chartsnap.pull_consumer).
        request_ids.bind(**request_ids.context_of(request))
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        timings.queue_wait = max(0.0, time.time() - request.enqueued_at) if request.enqueued_at else 0.0
        base = render_pb2.RenderResult(snapshot_id=request.snapshot_id, job_id=request.job_id,
                                       image_key=request.image_key, attempt=attempt)
        crashes = crashed_deliveries(attempt, self.max_attempts)
        if crashes:
            await self._crash_looped(msg, base, crashes)
            return
        started_published: asyncio.Task | None = None
        failing = "the chart could not be drawn"  # what failed, in words, for a FAILED result
        try:
            started = _reported(base, render_pb2.RenderResult.STARTED)
            # Reported while the chart is being serialised, not before: the
            # round trip to JetStream need not delay the render.
            started_published = asyncio.create_task(self._publish(started))

            t = time.perf_counter()
            item, width, height, scale = await loop.run_in_executor(
                self.cpu_threads, in_context(_serialised), request)
            timings.serialize = time.perf_counter() - t
            t = time.perf_counter()
            rendered = await loop.run_in_executor(self.browser_threads, in_context(self.pool.render_timed),
                                                  item, width, height, scale)
            timings.render = time.perf_counter() - t
            timings.embed, timings.capture = rendered.timings.embed_s, rendered.timings.capture_s
            timings.patched = rendered.timings.patched
            png = stored_png(request, rendered.png)  # ~20 µs: a copy and two CRCs
            failing = "the image could not be stored"
            t = time.perf_counter()
            await loop.run_in_executor(self.io_threads, in_context(self.images.put_png), request.image_key, png)
            timings.upload = time.perf_counter() - t

            failing = "the result could not be reported"
            await started_published  # STARTED must be on the stream before SUCCEEDED
            succeeded = _reported(base, render_pb2.RenderResult.SUCCEEDED)
            succeeded.png_sha256 = hashlib.sha256(png).hexdigest()
            await self._publish(succeeded)
            await msg.ack()
            timings.total = time.perf_counter() - t0
            self._observe(timings)
            log.info("snapshot %s rendered: queue wait %.0f ms, serialise %.0f ms, %s %.0f ms, "
                     "capture %.0f ms, upload %.0f ms, total %.0f ms", request.snapshot_id,
                     timings.queue_wait * 1e3, timings.serialize * 1e3,
                     "patch" if timings.patched else "embed", timings.embed * 1e3,
                     timings.capture * 1e3, timings.upload * 1e3, timings.total * 1e3)
        except Exception as exc:  # noqa: BLE001 - decide between retry and failure
            if started_published is not None:
                # Settle it first, so FAILED cannot overtake STARTED; its own error does not matter.
                await asyncio.gather(started_published, return_exceptions=True)
            elapsed = time.time() - request.enqueued_at if request.enqueued_at else None
            verdict = after_failure(attempt=attempt, max_attempts=self.max_attempts, elapsed_s=elapsed,
                                    total_budget_s=self.total_budget,
                                    render_timeout_s=self.pool.render_timeout_s,
                                    permanent=isinstance(exc, (ChartScriptError, ValueError)))
            timings.outcome = "retried" if verdict.retry else "failed"
            timings.total = time.perf_counter() - t0
            self._observe(timings)
            await self._failed(msg, base, attempt, exc, verdict, failing)

    def _observe(self, timings: Timings) -> None:
        if self.observer is None:
            return
        try:
            self.observer(timings)
        except Exception:  # noqa: BLE001 - metrics must never fail a render
            log.exception("render observer failed")

    async def _failed(self, msg, base: render_pb2.RenderResult, attempt: int, exc: Exception,  # noqa: ANN001
                      verdict: Verdict, what: str) -> None:
        if verdict.retry:
            log.warning("render of snapshot %s failed (attempt %s), retrying in %.1fs: %s",
                        base.snapshot_id, attempt, verdict.delay, logs.failure(exc))
            await msg.nak(delay=verdict.delay)
            return
        log.error("render of snapshot %s failed for good (%s): %s", base.snapshot_id, verdict.reason,
                  logs.failure(exc))
        await self._report_failed(msg, _reported(base, render_pb2.RenderResult.FAILED, f"{what} {verdict.reason}"))

    async def _crash_looped(self, msg, base: render_pb2.RenderResult, crashes: int) -> None:  # noqa: ANN001
        log.error("render request of snapshot %s: %d deliveries ended without a verdict; failing it "
                  "without rendering again", base.snapshot_id, crashes)
        self._observe(Timings(outcome="failed"))
        await self._report_failed(msg, _reported(
            base, render_pb2.RenderResult.FAILED,
            f"the chart could not be drawn: the render did not finish in {crashes} deliveries "
            f"(the render service crashed or was stopped while drawing it)"))

    async def _report_failed(self, msg, failed: render_pb2.RenderResult) -> None:  # noqa: ANN001
        try:
            await self._publish(failed)
            await msg.term()
        except Exception:  # noqa: BLE001 - leave it for redelivery
            await msg.nak(delay=5.0)

    async def stop(self, grace: float = 5.0) -> None:
        """Let renders in flight finish (up to `grace` seconds); cancel the rest,
        whose messages JetStream redelivers after the ack wait."""
        await self.free.drain(grace)
        self.browser_threads.shutdown(wait=False, cancel_futures=True)
        self.cpu_threads.shutdown(wait=False, cancel_futures=True)
        self.io_threads.shutdown(wait=False, cancel_futures=True)
