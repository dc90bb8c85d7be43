"""Where each delivery stands, kept outside the worker so that a redelivered
queue message (a worker died, an ack was lost) never sends twice.

Writes are compare-and-set on a revision: two workers holding the same
message cannot both start the same attempt. The NATS key-value version is
`delivery_ledger.DeliveryLedger`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Protocol

SENDING = "sending"      # attempt `attempts` is (or was, if its worker died) in flight
WAITING = "waiting"      # attempt `attempts` failed transiently; the next may start at not_before
DELIVERED = "delivered"
FAILED = "failed"
TERMINAL = (DELIVERED, FAILED)


@dataclass(frozen=True)
class DeliveryRecord:
    state: str
    attempts: int                 # attempts started so far
    first_attempt_at: float       # epoch seconds; the retry time budget counts from here
    at: float                     # when this state began
    not_before: float = 0.0       # WAITING: earliest start of the next attempt
    error: str = ""               # WAITING: last error; FAILED: the reason; DELIVERED: a remark
    steps_done: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "DeliveryRecord":
        raw = json.loads(data)
        raw["steps_done"] = tuple(raw.get("steps_done") or ())
        return cls(**raw)


class JournalConflict(Exception):
    """Someone else wrote the record since we read it."""


class Journal(Protocol):
    async def read(self, delivery_id: str) -> tuple[DeliveryRecord | None, int]:
        """The record and its revision; (None, 0) when there is none."""

    async def write(self, delivery_id: str, record: DeliveryRecord, revision: int) -> int:
        """Store `record` if the current revision is still `revision` (0: none
        yet); returns the new revision or raises JournalConflict."""
