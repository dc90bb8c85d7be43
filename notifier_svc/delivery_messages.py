"""The adapter between the queue's protobuf messages and the domain."""

from __future__ import annotations

from types import MappingProxyType

from chartsnap.v1 import delivery_pb2
from notifier_svc.delivery import Delivery
from notifier_svc.delivery_runner import Outcome


def delivery_from_request(req: delivery_pb2.DeliveryRequest) -> Delivery:
    return Delivery(
        delivery_id=req.delivery_id,
        snapshot_id=req.snapshot_id,
        job_id=req.job_id,
        service_id=req.service_id,
        type=req.type,
        settings=MappingProxyType(dict(req.settings)),
        chart_name=req.chart_name,
        chart_url=req.chart_url,
        sender_name=req.sender_name,
        sender_email=req.sender_email,
        message=req.message,
        image_url=req.image_url,
        image_key=req.image_key,
        width=req.width,
        height=req.height,
        duration=req.duration,
        end_time=req.end_time,
        summary=req.summary,
        timezone=req.timezone,
    )


def result_message(d: Delivery, outcome: Outcome) -> delivery_pb2.DeliveryResult:
    R = delivery_pb2.DeliveryResult
    return R(
        delivery_id=d.delivery_id,
        snapshot_id=d.snapshot_id,
        service_id=d.service_id,
        state=R.DELIVERED if outcome.delivered else R.FAILED,
        attempts=outcome.attempts,
        error=outcome.error,
    )
