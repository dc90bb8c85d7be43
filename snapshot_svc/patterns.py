"""Librato wildcards: `*` matches any run of characters, nothing else is special."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    return compile_pattern(pattern).fullmatch(value) is not None


def matches_any(patterns: list[str] | tuple[str, ...], value: str) -> bool:
    return any(matches(p, value) for p in patterns)
