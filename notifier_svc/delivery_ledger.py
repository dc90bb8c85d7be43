"""The delivery journal in a NATS JetStream key-value bucket: one key per
delivery, compare-and-set on the key's revision."""

from __future__ import annotations

import hashlib
import re

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from chartsnap.queue import DELIVERY_LEDGER_BUCKET as BUCKET
from notifier_svc.delivery_journal import DeliveryRecord, JournalConflict

# Long enough to outlive any redelivery of the request (its stream keeps
# unacked messages; results are kept a day).
RECORD_TTL = 7 * 86400.0
_VALID_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


def ledger_key(delivery_id: str) -> str:
    """"<snapshot_id>:<service_id>" as a valid KV key; ids with characters a
    key cannot hold are hashed instead."""
    key = delivery_id.replace(":", ".")
    if _VALID_KEY.match(key) and not key.startswith(".") and not key.endswith("."):
        return key
    return "h." + hashlib.sha256(delivery_id.encode()).hexdigest()


async def open_bucket(js: JetStreamContext, bucket: str = BUCKET, replicas: int = 1) -> KeyValue:
    """The journal's bucket, made in `replicas` copies (CHARTSNAP_NATS_REPLICAS) when missing."""
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=bucket, history=1, ttl=RECORD_TTL, replicas=replicas,
                                         description="notifier_svc delivery journal")


class DeliveryLedger:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def read(self, delivery_id: str) -> tuple[DeliveryRecord | None, int]:
        try:
            entry = await self.kv.get(ledger_key(delivery_id))
        except KeyNotFoundError:
            return None, 0
        return DeliveryRecord.from_bytes(entry.value), entry.revision

    async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
        key = ledger_key(delivery_id)
        try:
            if revision == 0:
                return await self.kv.create(key, record.to_bytes())
            return await self.kv.update(key, record.to_bytes(), last=revision)
        except KeyWrongLastSequenceError:
            raise JournalConflict(delivery_id) from None
