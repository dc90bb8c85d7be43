"""NATS JetStream layout shared by every service: stream names, subjects and
durable consumer names live here so publishers and consumers cannot drift."""

from __future__ import annotations

from dataclasses import replace

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

# The notifier's delivery journal, a JetStream key-value bucket (which delivery
# was sent); named here because the NATS permissions grant it too.
DELIVERY_LEDGER_BUCKET = "chartsnap_deliveries"

# Seconds in which JetStream drops a second message with the same Nats-Msg-Id
# (chartsnap.message_ids): a publish retried within it lands once.
DUPLICATE_WINDOW_S = 300.0


def work_queue(name: str, subjects: list[str], **limits: float) -> StreamConfig:
    """A stream on disk from which a message is removed once acked."""
    return StreamConfig(name=name, subjects=subjects, retention=RetentionPolicy.WORK_QUEUE,
                        storage=StorageType.FILE, duplicate_window=DUPLICATE_WINDOW_S, **limits)


# A render request carries its chart's data: up to 8 MB, the server's ceiling.
# Results are kept a day, so a snapshot service that was down catches up when
# it returns.
STREAMS = (
    work_queue(RENDER_STREAM, [RENDER_REQUESTS], max_msg_size=8 * 1024 * 1024),
    work_queue(DELIVERY_STREAM, [DELIVERY_REQUESTS]),
    work_queue(RESULTS_STREAM, [RENDER_RESULTS, DELIVERY_RESULTS], max_age=86400.0),
)


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create or update every stream, kept in `replicas` copies
    (CHARTSNAP_NATS_REPLICAS); safe to run from every service at start."""
    for config in STREAMS:
        config = replace(config, num_replicas=replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
