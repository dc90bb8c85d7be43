"""NATS adapter of deliveries: puts DeliveryRequests on the delivery stream
(the DeliveryPublisher of snapshot_svc.jobs) and reads the notifier's
DeliveryResults back into snapshot_svc.jobs.Deliveries.

Requests carry a Nats-Msg-Id of their delivery id, so publishing again after a
redelivered render result is dropped by JetStream, and the notifier's own
ledger drops anything older than the duplicate window."""

from __future__ import annotations


from nats.js import JetStreamContext

from chartsnap import message_ids, queue
from chartsnap.v1 import delivery_pb2
from snapshot_svc.jobs import Deliveries
from snapshot_svc.result_messages import Unreadable, consume_results


STATES = {delivery_pb2.DeliveryResult.DELIVERED: "delivered", delivery_pb2.DeliveryResult.FAILED: "failed"}


class DeliveryQueue:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, request: delivery_pb2.DeliveryRequest) -> int:
        ack = await queue.publish(self.js, queue.DELIVERY_REQUESTS, request.SerializeToString(),
                                  message_ids.delivery_request_id(request.snapshot_id, request.service_id))
        return ack.seq


def read_result(data: bytes) -> delivery_pb2.DeliveryResult:
    result = delivery_pb2.DeliveryResult.FromString(data)
    if result.state not in STATES:
        raise Unreadable(f"no delivery state {result.state}")
    return result


class DeliveryResultConsumer:
    """Reads the notifier's DeliveryResults into the application layer."""

    def __init__(self, js: JetStreamContext, deliveries: Deliveries) -> None:
        self.js = js
        self.deliveries = deliveries

    async def run(self) -> None:
        await consume_results(self.js, queue.DELIVERY_RESULTS, queue.SNAPSHOT_DELIVERY_RESULTS,
                              queue.RESULTS_STREAM, read_result, self.apply, lambda r: f"delivery {r.delivery_id}")

    async def apply(self, result: delivery_pb2.DeliveryResult) -> None:
        await self.deliveries.apply_result(result.snapshot_id, result.service_id, STATES[result.state],
                                           result.attempts, result.error)
