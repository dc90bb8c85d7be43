"""Reading a snapshot's PNG from the image store for an attempt, with store
errors turned into delivery errors."""

from __future__ import annotations

import asyncio

from minio.error import S3Error

from chartsnap.image_store import ImageStore
from notifier_svc.notifier import PermanentDeliveryError, TransientDeliveryError

MISSING = ("NoSuchKey", "NoSuchBucket")


class StoredImages:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    async def load(self, key: str) -> bytes:
        if not key:
            raise PermanentDeliveryError("the delivery names no image")
        try:
            return await asyncio.to_thread(self.store.get, key)
        except S3Error as exc:
            if exc.code in MISSING:
                raise PermanentDeliveryError(f"the image {key} is not in the store") from None
            raise TransientDeliveryError(f"the image store could not be read ({exc.code})") from None
        except Exception as exc:  # noqa: BLE001 - store unreachable: worth another attempt
            raise TransientDeliveryError(f"the image store could not be read ({type(exc).__name__})") from None
