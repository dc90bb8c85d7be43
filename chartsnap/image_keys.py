"""Where a snapshot's image lives in the bucket. The bucket policy lets anyone
read keys under PUBLIC_PREFIX and nothing else, and the snapshot service names
every image under it: both read this module, so they cannot disagree."""

from __future__ import annotations

import secrets

PUBLIC_PREFIX = "chart/"

_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_image_key(snapshot_id: int) -> str:
    """Unguessable and permanent: 16 random characters (over 80 bits), then the
    snapshot id for humans."""
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(16))
    return f"{PUBLIC_PREFIX}{token}-{snapshot_id}.png"
