"""NATS JetStream layout shared by every service: stream names, subjects and
durable consumer names live here so publishers and consumers cannot drift."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

RENDER_REQUESTS = "chartsnap.render.requests"
RENDER_RESULTS = "chartsnap.render.results"
DELIVERY_REQUESTS = "chartsnap.delivery.requests"
DELIVERY_RESULTS = "chartsnap.delivery.results"

RENDER_STREAM = "CHARTSNAP_RENDER"
DELIVERY_STREAM = "CHARTSNAP_DELIVERY"
RESULTS_STREAM = "CHARTSNAP_RESULTS"

RENDER_WORKERS = "render-workers"          # durable pull consumer of render_svc
SNAPSHOT_RESULTS = "snapshot-svc-results"  # durable pull consumers of snapshot_svc
SNAPSHOT_DELIVERY_RESULTS = "snapshot-svc-deliveries"
NOTIFIER_WORKERS = "notifier-workers"      # durable pull consumer of notifier_svc

# Work queues: a message is removed once acked. Result streams keep a day so a
# snapshot service that was down catches up when it returns.
STREAMS = (
    StreamConfig(
        name=RENDER_STREAM,
        subjects=[RENDER_REQUESTS],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=300.0,
        max_msg_size=8 * 1024 * 1024,
    ),
    StreamConfig(
        name=DELIVERY_STREAM,
        subjects=[DELIVERY_REQUESTS],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=300.0,
    ),
    StreamConfig(
        name=RESULTS_STREAM,
        subjects=[RENDER_RESULTS, DELIVERY_RESULTS],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=300.0,
        max_age=86400.0,
    ),
)


async def ensure_streams(js: JetStreamContext) -> None:
    """Create or update every stream; safe to run from every service at start."""
    for config in STREAMS:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
