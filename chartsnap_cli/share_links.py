"""The link to give people for a snapshot: its share page (`/s/<token>`,
public, with the picture and what it shows), as the API names it in
`share_href`; from a gateway that names none, the page derived from the image
key (chartsnap.image_keys), else the public image itself."""

from __future__ import annotations

from urllib.parse import urlparse

from chartsnap.image_keys import PUBLIC_PREFIX, share_url


def share_link(snapshot: dict) -> str | None:
    """None while the image is not stored yet: until then the page has no picture."""
    image = snapshot.get("image_href")
    if not image:
        return None
    return snapshot.get("share_href") or _derived(snapshot.get("href"), image) or image


def _derived(snapshot_href: str | None, image_href: str) -> str | None:
    """The share page under the gateway's public base (the origin of the
    snapshot's own href), from the image key at the end of the image's URL."""
    gateway, image = urlparse(snapshot_href or ""), urlparse(image_href)
    start = image.path.rfind("/" + PUBLIC_PREFIX)
    if not gateway.scheme or not gateway.netloc or start < 0:
        return None
    try:
        return share_url(f"{gateway.scheme}://{gateway.netloc}", image.path[start + 1:])
    except ValueError:  # not a key new_image_key made
        return None
