"""Keeping tokens, webhook URLs and passwords out of error texts and logs.

Errors are built from our own words plus the peer's; either may quote a URL
or echo a credential, so every text that leaves a delivery attempt goes
through a Scrubber made from that delivery's secrets.

A secret is hunted in every form a notifier sends it or a peer may echo it:
as it is, percent-encoded (a token in a URL path), JSON-escaped (a body
echoed back), HTML-escaped, base64 of the secret alone, of `user:password`
(HTTP Basic, e.g. Campfire's `token:X`) and of `\\0user\\0password` (SMTP
AUTH PLAIN), and, for a base64 blob we cannot predict, the run of base64
characters that encodes the secret's bytes at each of the three alignments
(whatever surrounds it, those characters are the same)."""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Iterable
from urllib.parse import quote, quote_plus, urlsplit

REDACTED = "[redacted]"
# Shorter values are not secrets worth hunting for, and replacing them would
# mangle ordinary words.
MIN_SECRET_LENGTH = 4
# A base64 run shorter than this (9 bytes of secret) is too likely to occur
# by chance to be worth replacing.
MIN_BASE64_RUN = 12
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def _percent_forms(value: str) -> list[str]:
    forms = {quote(value, safe=""), quote(value), quote_plus(value, safe="")}
    # Some encoders write the hex digits in lower case.
    return [*forms, *(_PERCENT_HEX.sub(lambda m: m.group(0).lower(), f) for f in forms)]


def _json_forms(value: str) -> list[str]:
    escaped = [json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    return [*escaped, *(e.replace("/", "\\/") for e in escaped)]


def _base64_forms(data: bytes) -> list[str]:
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


def base64_runs(data: bytes) -> list[str]:
    """The base64 characters that depend only on `data`, for each offset of
    `data` within its 3-byte groups: inside any base64 text that encodes
    `data` somewhere, one of these appears."""
    runs = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        first_group = 1 if offset else 0                 # the group holding padding is mixed
        last_group = (offset + len(data)) // 3           # groups fully inside `data` end here
        run = encoded[4 * first_group:4 * last_group]
        if len(run) >= MIN_BASE64_RUN:
            runs += [run, run.replace("+", "-").replace("/", "_")]
    return runs


def secret_variants(value: str) -> list[str]:
    """A secret and the forms it may be quoted in (see the module text); for a
    URL also its path, query and each longer path segment (a webhook's
    secret lives there), each in those forms too."""
    value = value.strip()
    if not value:
        return []
    pieces = [value]
    parts = urlsplit(value)
    if parts.scheme and parts.netloc:
        pieces.append(parts.path)
        pieces += [segment for segment in parts.path.split("/") if len(segment) >= 8]
        if parts.query:
            pieces.append(parts.query)
    variants = []
    for piece in pieces:
        variants += [piece, *_percent_forms(piece), *_json_forms(piece), html.escape(piece)]
        variants += [*_base64_forms(piece.encode()), *base64_runs(piece.encode())]
    return variants


def basic_auth_variants(user: str, password: str) -> list[str]:
    """The encodings of a user and password pair on the wire: HTTP Basic
    (`user:password`) and SMTP AUTH PLAIN (`\\0user\\0password`)."""
    if not user and not password:
        return []
    return [*_base64_forms(f"{user}:{password}".encode()), *_base64_forms(f"\0{user}\0{password}".encode())]


class Scrubber:
    def __init__(self, secrets: Iterable[str], pairs: Iterable[tuple[str, str]] = ()) -> None:
        found = {v for s in secrets if s for v in secret_variants(s)}
        found |= {v for user, password in pairs if password for v in basic_auth_variants(user, password)}
        found = {v for v in found if len(v) >= MIN_SECRET_LENGTH}
        # Longest first, so a URL is replaced whole before its path is, and a
        # whole base64 credential before a run inside it.
        self.secrets = sorted(found, key=len, reverse=True)
        self._pattern = (re.compile("|".join(map(re.escape, self.secrets)), re.IGNORECASE)
                         if self.secrets else None)

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)
