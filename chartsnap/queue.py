"""NATS JetStream layout shared by every service: stream names, subjects and
durable consumer names live here so publishers and consumers cannot drift."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import PubAck, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError, ServiceUnavailableError

from chartsnap import message_ids, request_ids
from chartsnap.budgets import JETSTREAM_ELECTION_BOUND_S

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

# A stream of a cluster answers no publish ("no responders") while its Raft
# group elects a leader, and for the moment after that it takes the leader's
# interest in the subject to reach the node a client is on. nats.go retries
# such a publish (RetryAttempts 2, RetryWait 250 ms); so do we, bounded in
# time. Longer outages stay the caller's: an unpublished job is swept.
PUBLISH_NO_RESPONDERS_RETRY_S = 1.0
PUBLISH_RETRY_WAIT_S = 0.25
PUBLISH_TIMEOUT_S = 5.0
# What the JetStream API answers while a cluster elects a leader.
ELECTION_ANSWERS = (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError)

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
    (CHARTSNAP_NATS_REPLICAS), and return once each has a leader; safe to run
    from every service at start."""
    for config in STREAMS:
        config = replace(config, num_replicas=replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
    await wait_until_led(js, [config.name for config in STREAMS])


async def wait_until_led(js: JetStreamContext, streams: list[str],
                         bound_s: float = JETSTREAM_ELECTION_BOUND_S) -> None:
    """Wait until every stream reports a leader (a single server's streams
    always do); TimeoutError after `bound_s`, an election's worst case."""
    deadline = time.monotonic() + bound_s
    for name in streams:
        while True:
            try:
                info = await js.stream_info(name)
                if info.cluster is None or info.cluster.leader:
                    break
            except (*ELECTION_ANSWERS, NotFoundError):
                # The meta leader is being elected, or the node that answered
                # has not yet applied the create it just took part in: ask again.
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"stream {name} has no leader after {bound_s:.0f} s")
            await asyncio.sleep(PUBLISH_RETRY_WAIT_S)


async def publish(js: JetStreamContext, subject: str, payload: bytes, msg_id: str) -> PubAck:
    """Publish to the stream holding `subject`, de-duplicated by `msg_id`
    (chartsnap.message_ids) and carrying the request id bound in the log
    context (chartsnap.request_ids.NATS_HEADER), so its consumer's lines name it;
    a "no responders" answer is retried for PUBLISH_NO_RESPONDERS_RETRY_S."""
    headers = {message_ids.HEADER: msg_id, **request_ids.nats_headers()}
    deadline = time.monotonic() + PUBLISH_NO_RESPONDERS_RETRY_S
    while True:
        try:
            return await js.publish(subject, payload, timeout=PUBLISH_TIMEOUT_S, headers=headers)
        except NoStreamResponseError:
            if time.monotonic() + PUBLISH_RETRY_WAIT_S > deadline:
                raise
            await asyncio.sleep(PUBLISH_RETRY_WAIT_S)
