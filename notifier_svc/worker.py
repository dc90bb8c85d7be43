"""The notifier worker: pulls DeliveryRequests from JetStream, up to
`concurrency` at once, runs each delivery on its own task (so one slow or
failing destination never holds up another), publishes the DeliveryResult
and only then acks.

While a delivery runs, including the waits between attempts, `in_progress`
keeps the message from being redelivered to another worker. If the worker
dies, the message comes back and the journal says what to do with it."""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from chartsnap import logs, message_ids, queue, request_ids
from chartsnap.budgets import NOTIFY_ACK_WAIT_S
from chartsnap.pull_consumer import WorkSlots
from chartsnap.v1 import delivery_pb2
from notifier_svc.delivery import Delivery
from notifier_svc.delivery_messages import delivery_from_request, result_message
from notifier_svc.delivery_runner import DeliveryRunner, Outcome, Postponed

log = logging.getLogger(__name__)

ACK_WAIT = NOTIFY_ACK_WAIT_S
HEARTBEAT = 10.0        # in_progress interval, well under ACK_WAIT
RETRY_LATER = 2.0       # nak delay when NATS itself is in trouble


class NotifierWorker:
    def __init__(self, js: JetStreamContext, runner: DeliveryRunner, concurrency: int) -> None:
        self.js = js
        self.runner = runner
        self.slots = WorkSlots(concurrency)
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        sub = await self.js.pull_subscribe(
            queue.DELIVERY_REQUESTS, durable=queue.NOTIFIER_WORKERS, stream=queue.DELIVERY_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT, max_ack_pending=1000),
        )
        while not self.stopping.is_set():
            for msg in await self.slots.fetch(sub, "delivery requests"):
                self.slots.start(msg, self._work, HEARTBEAT)

    async def _work(self, msg) -> None:  # noqa: ANN001 - nats Msg
        try:
            delivery = self._read(msg)
            if delivery is None:
                await msg.term()
                return
            # Every line about this delivery names it, its snapshot and job (its
            # request id is bound already: chartsnap.pull_consumer).
            request_ids.bind(delivery_id=delivery.delivery_id, snapshot_id=delivery.snapshot_id,
                             job_id=delivery.job_id)
            try:
                outcome = await self.runner.run(delivery, self.stopping)
            except Exception as exc:  # noqa: BLE001 - the journal (NATS KV) is unreachable
                log.warning("delivery %s could not run, handing it back: %s",
                            delivery.delivery_id, logs.failure(exc))
                await msg.nak(delay=RETRY_LATER)
                return
            if isinstance(outcome, Postponed):
                log.info("delivery %s postponed %.1f s: %s", delivery.delivery_id, outcome.delay, outcome.reason)
                await msg.nak(delay=max(0.1, outcome.delay))
                return
            await self._report(msg, delivery, outcome)
        except Exception as exc:  # noqa: BLE001 - acks/naks on a lost connection; redelivery covers it
            log.warning("delivery message handling failed: %s", logs.failure(exc))

    @staticmethod
    def _read(msg) -> Delivery | None:  # noqa: ANN001 - nats Msg
        try:
            delivery = delivery_from_request(delivery_pb2.DeliveryRequest.FromString(msg.data))
        except Exception:  # noqa: BLE001 - unreadable now means unreadable forever
            log.error("dropping unreadable delivery request")
            return None
        if not delivery.delivery_id:
            log.error("dropping delivery request without delivery_id")
            return None
        return delivery

    async def _report(self, msg, delivery: Delivery, outcome: Outcome) -> None:  # noqa: ANN001
        result = result_message(delivery, outcome)
        try:
            await queue.publish(self.js, queue.DELIVERY_RESULTS, result.SerializeToString(),
                                message_ids.delivery_result_id(delivery.delivery_id))
        except Exception as exc:  # noqa: BLE001 - the journal holds the end; redelivery re-publishes it
            log.warning("publishing the result of delivery %s failed, will re-publish: %s",
                        delivery.delivery_id, logs.failure(exc))
            await msg.nak(delay=RETRY_LATER)
            return
        await msg.ack()
        if outcome.replayed:
            log.info("delivery %s had already ended (%s); result re-published, nothing sent",
                     delivery.delivery_id, "delivered" if outcome.delivered else "failed")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking messages; deliveries waiting between attempts hand
        their message back at once, attempts in flight get `grace` seconds to
        finish (an attempt cut short would be reported as interrupted)."""
        self.stopping.set()
        await self.slots.drain(grace)
