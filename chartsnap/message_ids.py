"""The `Nats-Msg-Id` of every message chartsnap publishes. JetStream drops a
second message with the same id inside a stream's duplicate window, so each id
names exactly what must be sent at most once; publishers and the sweeper that
reads ids back use these functions and nothing else."""

from __future__ import annotations

import re

HEADER = "Nats-Msg-Id"

_RENDER_REQUEST = re.compile(r"render-([0-9]{1,18})(?:-[0-9]{1,9})?")


def render_request_id(snapshot_id: int, publish: int = 1) -> str:
    """A render request; a republish (publish > 1) needs a new id, or the
    duplicate window would drop it."""
    return f"render-{snapshot_id}" if publish <= 1 else f"render-{snapshot_id}-{publish}"


def snapshot_of_render_request(msg_id: str | None) -> int | None:
    """The snapshot a render request's id names (None if it is not one)."""
    match = _RENDER_REQUEST.fullmatch(msg_id or "")
    return int(match.group(1)) if match else None


def render_result_id(snapshot_id: int, state_name: str) -> str:
    """A render result: one per (snapshot, state), e.g. `render-7-started`."""
    return f"render-{snapshot_id}-{state_name}"


def delivery_request_id(snapshot_id: int, service_id: str) -> str:
    """The DeliveryRequest of one (snapshot, service)."""
    return f"delivery-{snapshot_id}:{service_id}"


def delivery_result_id(delivery_id: str) -> str:
    """The DeliveryResult of one delivery."""
    return f"delivery-{delivery_id}-result"
