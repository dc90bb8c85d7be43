"""NATS adapter of deliveries: puts DeliveryRequests on the delivery stream
(the DeliveryPublisher of snapshot_svc.jobs) and reads the notifier's
DeliveryResults back into snapshot_svc.jobs.Deliveries.

Requests carry a Nats-Msg-Id of their delivery id, so publishing again after a
redelivered render result is dropped by JetStream, and the notifier's own
ledger drops anything older than the duplicate window."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext

from chartsnap import message_ids, pull_consumer, queue
from chartsnap.v1 import delivery_pb2
from snapshot_svc.jobs import Deliveries

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0
STATES = {delivery_pb2.DeliveryResult.DELIVERED: "delivered", delivery_pb2.DeliveryResult.FAILED: "failed"}


class DeliveryQueue:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, request: delivery_pb2.DeliveryRequest) -> int:
        ack = await self.js.publish(
            queue.DELIVERY_REQUESTS, request.SerializeToString(), timeout=PUBLISH_TIMEOUT,
            headers={message_ids.HEADER: message_ids.delivery_request_id(request.snapshot_id, request.service_id)})
        return ack.seq


class DeliveryResultConsumer:
    def __init__(self, js: JetStreamContext, deliveries: Deliveries) -> None:
        self.js = js
        self.deliveries = deliveries

    async def run(self) -> None:
        await pull_consumer.consume_forever(self.js, queue.DELIVERY_RESULTS, queue.SNAPSHOT_DELIVERY_RESULTS,
                                            queue.RESULTS_STREAM, self._handle)

    async def _handle(self, msg) -> None:  # noqa: ANN001 - nats Msg
        try:
            result = delivery_pb2.DeliveryResult.FromString(msg.data)
        except Exception:  # noqa: BLE001 - unreadable forever
            await msg.term()
            return
        if result.state not in STATES:
            await msg.term()
            return
        try:
            await self.deliveries.apply_result(result.snapshot_id, result.service_id, STATES[result.state],
                                               result.attempts, result.error)
        except Exception:  # noqa: BLE001 - database trouble: retry shortly
            log.exception("recording delivery %s failed", result.delivery_id)
            await msg.nak(delay=1.0)
            return
        await msg.ack()
