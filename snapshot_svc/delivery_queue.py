"""NATS adapter for deliveries: once a snapshot's image is stored, one
DeliveryRequest per (snapshot, service) goes to the notifier; its
DeliveryResults are recorded in the job's output.

Requests carry a Nats-Msg-Id of their delivery id, so publishing again after a
redelivered render result is dropped by JetStream, and the notifier's own
ledger drops anything older than the duplicate window."""

from __future__ import annotations

import asyncio
import logging
import time

from nats.js import JetStreamContext

from chartsnap import message_ids, pull_consumer, queue
from chartsnap.v1 import delivery_pb2
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.snapshot_metrics import observe_job_completed
from snapshot_svc.snapshots import SnapshotStore

log = logging.getLogger(__name__)

STATES = {delivery_pb2.DeliveryResult.DELIVERED: "delivered", delivery_pb2.DeliveryResult.FAILED: "failed"}


class DeliveryDispatcher:
    def __init__(self, js: JetStreamContext, snapshots: SnapshotStore, destinations: DestinationStore,
                 accounts: AccountStore, spaces: SpaceStore, public_url: str, image_url_for) -> None:  # noqa: ANN001
        self.js = js
        self.snapshots = snapshots
        self.destinations = destinations
        self.accounts = accounts
        self.spaces = spaces
        self.public_url = public_url
        self.image_url_for = image_url_for

    def build(self, snapshot_id: int) -> list[delivery_pb2.DeliveryRequest]:
        pending = self.snapshots.pending_deliveries(snapshot_id)
        if not pending:
            return []
        snap = self.snapshots.get(None, snapshot_id)
        account = self.accounts.get(snap["account_id"])
        try:
            chart = self.spaces.get_chart(account.id, snap["chart_id"])
            chart_name, space_id = chart["name"], chart["space_id"]
        except Exception:  # noqa: BLE001 - a chart deleted since still gets its snapshot delivered
            chart_name, space_id = f"Chart {snap['chart_id']}", 0
        services = self.destinations.owned(account.id, tuple(pending))
        requests = []
        for service_id in pending:
            service = services.get(service_id)
            if service is None:  # deleted after the snapshot was taken
                self.snapshots.delivery_ended(snapshot_id, service_id, "failed", 0,
                                              "the service was deleted before delivery", time.time())
                continue
            requests.append(delivery_pb2.DeliveryRequest(
                delivery_id=f"{snapshot_id}:{service_id}", snapshot_id=snapshot_id, job_id=snap["job_id"],
                service_id=service_id, type=service["type"], settings=service["settings"],
                chart_name=chart_name,
                chart_url=f"{self.public_url}/v1/spaces/{space_id}/charts/{snap['chart_id']}",
                sender_name=account.display_name, sender_email=account.email, message=snap["message"] or "",
                image_url=self.image_url_for(snap["assigned_image_key"]), image_key=snap["assigned_image_key"],
                width=snap["width"], height=snap["height"], duration=snap["duration"], end_time=snap["end_time"],
            ))
        return requests

    async def dispatch(self, snapshot_id: int) -> None:
        """Queue every pending delivery of the snapshot; raises if NATS refuses (the caller naks)."""
        seqs = {}
        for request in await asyncio.to_thread(self.build, snapshot_id):
            ack = await self.js.publish(queue.DELIVERY_REQUESTS, request.SerializeToString(),
                                        headers={message_ids.HEADER: message_ids.delivery_request_id(snapshot_id, request.service_id)},
                                        timeout=5.0)
            seqs[request.service_id] = ack.seq
        # The delivery deadline runs from the first time each was queued.
        await asyncio.to_thread(self.snapshots.mark_dispatched, snapshot_id, seqs, time.time())


class DeliveryResultConsumer:
    def __init__(self, js: JetStreamContext, snapshots: SnapshotStore) -> None:
        self.js = js
        self.snapshots = snapshots

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
            ended_at = time.time()
            await asyncio.to_thread(
                self.snapshots.delivery_ended, result.snapshot_id, result.service_id,
                STATES[result.state], result.attempts, result.error, ended_at)
            await asyncio.to_thread(observe_job_completed, self.snapshots.engine, result.snapshot_id, ended_at)
        except Exception:  # noqa: BLE001 - database trouble: retry shortly
            log.exception("recording delivery %s failed", result.delivery_id)
            await msg.nak(delay=1.0)
            return
        await msg.ack()
