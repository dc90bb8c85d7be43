"""NATS adapter of renders: puts render requests on the render stream (the
RenderPublisher of snapshot_svc.jobs) and reads RenderResults back into
snapshot_svc.jobs. The rules (when to fail a job, what a result changes) are
the application layer's; this module only speaks JetStream.

A request carries a Nats-Msg-Id keyed by its snapshot (chartsnap.message_ids),
so a second copy inside the duplicate window is dropped; the PubAck's sequence
is returned, so the sweeper can ask the stream whether the request is still
there."""

from __future__ import annotations


from nats.errors import MaxPayloadError
from nats.js import JetStreamContext

from chartsnap import message_ids, queue
from chartsnap.v1 import render_pb2
from snapshot_svc.jobs import Jobs, RequestTooLarge
from snapshot_svc.result_messages import consume_results



class RenderQueue:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, request: render_pb2.RenderRequest, publish: int = 1) -> int:
        payload = request.SerializeToString()
        if len(payload) > self.js._nc.max_payload:  # noqa: SLF001 - the connected server's limit
            raise RequestTooLarge(f"{len(payload)} bytes")
        try:
            ack = await queue.publish(self.js, queue.RENDER_REQUESTS, payload,
                                      message_ids.render_request_id(request.snapshot_id, publish))
        except MaxPayloadError as exc:
            raise RequestTooLarge(str(exc)) from exc
        # A duplicate's PubAck carries the first copy's sequence: the one on the stream.
        return ack.seq


class ResultConsumer:
    """Reads RenderResult messages into the application layer."""

    def __init__(self, js: JetStreamContext, jobs: Jobs) -> None:
        self.js = js
        self.jobs = jobs

    async def run(self) -> None:
        await consume_results(self.js, queue.RENDER_RESULTS, queue.SNAPSHOT_RESULTS, queue.RESULTS_STREAM,
                              render_pb2.RenderResult.FromString, self.apply,
                              lambda r: f"result for snapshot {r.snapshot_id}")

    async def apply(self, result: render_pb2.RenderResult) -> None:
        if result.state == render_pb2.RenderResult.STARTED:
            await self.jobs.render_started(result.snapshot_id)
        elif result.state == render_pb2.RenderResult.SUCCEEDED:
            await self.jobs.render_succeeded(result.snapshot_id, result.image_key, result.png_sha256)
        elif result.state == render_pb2.RenderResult.FAILED:
            await self.jobs.render_failed(result.snapshot_id, result.error)
