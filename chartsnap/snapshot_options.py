"""The options a snapshot is drawn with — `timezone`, `scale`, `theme` —
their defaults and the rule for each, which the snapshot service applies (the
gateway only checks types) and the render service may read. The fourth
option, `annotations`, is snapshot_svc.annotation_rules'.

Each check returns the problem in words (for a 400 naming the field), or None."""

from __future__ import annotations

import functools
import math
import re
import zoneinfo

DEFAULT_TIMEZONE = "UTC"
MAX_TIMEZONE_CHARS = 64  # the longest IANA name is 32 characters
# Only what IANA names are made of, so that nothing path-like ("../x", "/etc/x")
# ever reaches zoneinfo's file look-up.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9][A-Za-z0-9_+\-]*){0,3}")
# In the zone database on some hosts, yet no zone of their own: they mean the
# host's clock or nothing at all.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
TIMEZONE_RULE = "must be an IANA time zone name such as UTC or America/New_York"

SCALE_RANGE = (1.0, 3.0)
DEFAULT_SCALE = 1.0
SCALE_RULE = f"must be a number from {SCALE_RANGE[0]:g} to {SCALE_RANGE[1]:g}"

THEMES = ("light", "dark")
DEFAULT_THEME = "light"
THEME_RULE = f"must be one of {', '.join(THEMES)}"


@functools.lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def timezone_problem(name: str) -> str | None:
    if len(name) > MAX_TIMEZONE_CHARS or not _ZONE_NAME.fullmatch(name) or name not in known_zones():
        return TIMEZONE_RULE
    return None


def scale_problem(value: float) -> str | None:
    if not math.isfinite(value) or not SCALE_RANGE[0] <= value <= SCALE_RANGE[1]:
        return SCALE_RULE
    return None


def theme_problem(name: str) -> str | None:
    return None if name in THEMES else THEME_RULE
