"""Keeping tokens, webhook URLs and passwords out of error texts and logs.

Errors are built from our own words plus the peer's; either may quote a URL
or echo a credential, so every text that leaves a delivery attempt goes
through a Scrubber made from that delivery's secrets."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import quote, urlsplit

REDACTED = "[redacted]"
# Shorter values are not secrets worth hunting for, and replacing them would
# mangle ordinary words.
MIN_SECRET_LENGTH = 4


def secret_variants(value: str) -> list[str]:
    """A secret and the forms it may be quoted in: URL-quoted, and for a URL
    its path and each longer path segment (a webhook's secret lives there)."""
    value = value.strip()
    variants = [value, quote(value, safe="")]
    parts = urlsplit(value)
    if parts.scheme and parts.netloc:
        variants.append(parts.path)
        variants += [segment for segment in parts.path.split("/") if len(segment) >= 8]
        if parts.query:
            variants.append(parts.query)
    return variants


class Scrubber:
    def __init__(self, secrets: Iterable[str]) -> None:
        found = {v for s in secrets if s for v in secret_variants(s) if len(v) >= MIN_SECRET_LENGTH}
        # Longest first, so a URL is replaced whole before its path is.
        self.secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
