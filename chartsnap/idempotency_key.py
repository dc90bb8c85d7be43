"""The Idempotency-Key of POST /v1/snapshots (and CreateSnapshotRequest's
`idempotency_key`): its bounds, checked where it enters — by the gateway
before it goes into a protobuf string, and by the snapshot service for gRPC
callers."""

from __future__ import annotations

from chartsnap import errors

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
REUSE_AFTER = 86_400.0  # seconds: within this a key names one snapshot; after it, a new one


def checked(key: str) -> str:
    """The key if it is 1–255 printable ASCII characters; else a params error naming the header."""
    if not 1 <= len(key) <= MAX_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise errors.InvalidParams.one(HEADER, f"must be 1 to {MAX_LENGTH} printable ASCII characters")
    return key
