"""What the kill tests count after a burst, counted one way: image objects in
the bucket and chat messages at the peers, each per snapshot (the snapshot id
is the number an image key ends with: chartsnap.image_keys)."""

from __future__ import annotations

import json
import re
from typing import Any

from minio import Minio

from chartsnap.image_keys import PUBLIC_PREFIX
from devstack.processes import Stack

IMAGE_ID = re.compile(r"-(\d+)\.png")  # new_image_key: <prefix><token>-<snapshot id>.png


def images_per_snapshot(stack: Stack, bucket: str = "chartsnap") -> dict[int, int]:
    """Image objects in the bucket, by snapshot id."""
    s3 = Minio(stack.s3_endpoint, access_key=stack.creds.access_key, secret_key=stack.creds.secret_key, secure=False)
    images: dict[int, int] = {}
    for obj in s3.list_objects(bucket, prefix=PUBLIC_PREFIX, recursive=True):
        if found := IMAGE_ID.search(obj.object_name):
            images[int(found.group(1))] = images.get(int(found.group(1)), 0) + 1
    return images


def messages_per_delivery(chat_peers: dict[str, Any], destinations: dict[str, str],
                          marker: str) -> dict[tuple[int, str], int]:
    """Messages that reached each chat peer (by type) and carry `marker`, by
    (snapshot id, destination id)."""
    received: dict[tuple[int, str], int] = {}
    for kind, peer in chat_peers.items():
        for message in list(peer.messages):
            text = json.dumps(message.body)
            if marker in text and (found := IMAGE_ID.search(text)):
                pair = (int(found.group(1)), destinations[kind])
                received[pair] = received.get(pair, 0) + 1
    return received
