"""Librato wildcards: `*` matches any run of characters, nothing else is special.

Matched by splitting on `*` and finding the pieces in order, which is linear in
the value's length whatever the pattern. (A regex of `.*` pieces backtracks
exponentially on patterns like `*a*a*a*b`, and would hold the GIL while it did.)"""

from __future__ import annotations


def matches(pattern: str, value: str) -> bool:
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return value == pattern
    first, *middle, last = pieces
    if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def matches_any(patterns: list[str] | tuple[str, ...], value: str) -> bool:
    return any(matches(p, value) for p in patterns)
