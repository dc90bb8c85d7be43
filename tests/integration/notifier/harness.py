"""Helpers for the notifier's integration tests: delivery requests with
unique ids, publishing them, and collecting the results the notifier sends."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
import uuid
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from PIL import Image

from chartsnap import queue
from chartsnap.v1 import delivery_pb2

R = delivery_pb2.DeliveryResult
_snapshot_ids = itertools.count(int(time.time()) % 100_000 * 1000)


def chart_png(width: int = 120, height: int = 80) -> bytes:
    image = Image.new("RGB", (width, height), (250, 250, 250))
    for x in range(width):
        image.putpixel((x, height // 2 + (x % 17) - 8), (31, 119, 180))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def delivery_request(type_: str, settings: dict[str, str], *, image_key: str = "chart/none.png",
                     message: str = "Latency doubled after the deploy.",
                     chart_name: str = "API latency") -> delivery_pb2.DeliveryRequest:
    snapshot_id = next(_snapshot_ids)
    service_id = f"{type_}-{uuid.uuid4().hex[:8]}"
    return delivery_pb2.DeliveryRequest(
        delivery_id=f"{snapshot_id}:{service_id}", snapshot_id=snapshot_id, job_id=snapshot_id,
        service_id=service_id, type=type_, settings=settings, chart_name=chart_name,
        chart_url=f"http://chartsnap.test/spaces/7/charts/{snapshot_id}", sender_name="Ada Lovelace",
        sender_email="ada@example.com", message=message,
        image_url=f"http://images.chartsnap.test/{image_key}", image_key=image_key,
        width=120, height=80, duration=3600, end_time=1_700_000_000.0,
    )


@dataclass
class Arrival:
    result: delivery_pb2.DeliveryResult
    at: float          # time.monotonic() when it arrived


class ResultCollector:
    """Every DeliveryResult published while it listens, by delivery id.

    A core NATS subscription rather than a JetStream consumer: it also sees
    re-publishes that the stream drops as duplicates, and it does not take
    results away from anyone else's consumer."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.arrivals: dict[str, list[Arrival]] = {}
        self._sub = None

    async def start(self) -> "ResultCollector":
        async def on_result(msg) -> None:  # noqa: ANN001
            result = delivery_pb2.DeliveryResult.FromString(msg.data)
            self.arrivals.setdefault(result.delivery_id, []).append(Arrival(result, time.monotonic()))

        self._sub = await self.nc.subscribe(queue.DELIVERY_RESULTS, cb=on_result)
        await self.nc.flush()
        return self

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    async def wait(self, delivery_id: str, count: int = 1, timeout: float = 15.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals.get(delivery_id, [])) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.arrivals.get(delivery_id, []))} results for {delivery_id}, "
                                   f"expected {count}")
            await asyncio.sleep(0.02)
        return self.arrivals[delivery_id]

    async def result(self, delivery_id: str, timeout: float = 15.0) -> delivery_pb2.DeliveryResult:
        return (await self.wait(delivery_id, 1, timeout))[0].result


async def publish(js, request: delivery_pb2.DeliveryRequest) -> float:  # noqa: ANN001 - JetStreamContext
    """Publish as snapshot_svc does; returns time.monotonic() at publish."""
    t = time.monotonic()
    await js.publish(queue.DELIVERY_REQUESTS, request.SerializeToString())
    return t
