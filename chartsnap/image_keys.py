"""Where a snapshot's image lives in the bucket, and the share link made from
the same secret. The bucket policy lets anyone read keys under PUBLIC_PREFIX
and nothing else, and the snapshot service names every image under it: both
read this module, so they cannot disagree.

The share page of a snapshot (`/s/<token>`, served by the gateway) is public
by the secret part of its image key: `chart/<token>.png` ↔ `/s/<token>`, so a
delivered image URL and the page's are one secret (the page adds the chart's
name, the window, the taker's name and the message, never an e-mail); a
numeric id alone is never a token."""

from __future__ import annotations

import re
import secrets

PUBLIC_PREFIX = "chart/"
IMAGE_SUFFIX = ".png"
SHARE_PATH = "/s/"  # the gateway's route of share pages: SHARE_PATH + token

_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_RANDOM_LENGTH = 16

# 16 random characters, a dash, the snapshot id (decimal, no leading zero, at
# most 18 digits like every id in a path). Checked with fullmatch before any
# look-up, so nothing else reaches a query.
SHARE_TOKEN = re.compile(rf"[{_TOKEN_ALPHABET}]{{{_RANDOM_LENGTH}}}-[1-9][0-9]{{0,17}}")
MAX_SHARE_TOKEN = _RANDOM_LENGTH + 1 + 18


def new_image_key(snapshot_id: int) -> str:
    """Unguessable and permanent: 16 random characters (over 80 bits), then the
    snapshot id for humans."""
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return f"{PUBLIC_PREFIX}{token}-{snapshot_id}{IMAGE_SUFFIX}"


def is_share_token(token: str) -> bool:
    return len(token) <= MAX_SHARE_TOKEN and SHARE_TOKEN.fullmatch(token) is not None


def share_token(image_key: str) -> str:
    """The share token of an image key made by new_image_key."""
    token = image_key.removeprefix(PUBLIC_PREFIX).removesuffix(IMAGE_SUFFIX)
    if len(token) != len(image_key) - len(PUBLIC_PREFIX) - len(IMAGE_SUFFIX) or not is_share_token(token):
        raise ValueError("not an image key made by new_image_key")
    return token


def share_token_if_any(image_key: str) -> str | None:
    """The share token of an image key, or None for a key of another form (a
    database may hold keys older versions made): such a snapshot has no page."""
    try:
        return share_token(image_key)
    except ValueError:
        return None


def image_key_of(token: str) -> str:
    """The image key a share token stands for; ValueError for anything that is
    not a well-formed token."""
    if not is_share_token(token):
        raise ValueError("not a share token")
    return f"{PUBLIC_PREFIX}{token}{IMAGE_SUFFIX}"


def share_url(public_url: str, image_key: str) -> str:
    """The snapshot's share page under the gateway's public base URL."""
    return f"{public_url.rstrip('/')}{SHARE_PATH}{share_token(image_key)}"


def loggable_path(path: str) -> str:
    """A request path fit for logs: a share page's secret is cut out
    (`/s/<token>` → `/s/…-<id>`), since the path alone opens the page;
    every other path is returned as it is."""
    if not path.startswith(SHARE_PATH):
        return path
    token = path[len(SHARE_PATH):]
    return f"{SHARE_PATH}…-{token.rsplit('-', 1)[1]}" if is_share_token(token) else f"{SHARE_PATH}…"
