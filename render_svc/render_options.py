"""The snapshot options of a RenderRequest (time zone, scale, theme), made safe.

snapshot_svc validates them before a request is published, so a bad value
here means an older or foreign publisher; the renderer never fails a render
for one: it logs the value and draws with the default (UTC, scale 1, light).
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from render_svc.figure_style import DEFAULT_THEME, THEMES

logger = logging.getLogger(__name__)

UTC_ZONE = "UTC"
MIN_SCALE = 1.0
MAX_SCALE = 3.0
DEFAULT_SCALE = 1.0
# Device pixels one PNG may have: the largest chart at scale 1 (4000 x 4000,
# chartsnap.charts.SIZE_RANGE). A large chart at scale 3 would need a canvas of
# 144 M pixels (~580 MB in the browser), so its scale is lowered to fit.
MAX_DEVICE_PIXELS = 4000 * 4000
# Longest zone name looked up (the longest IANA name has 32 characters).
_MAX_ZONE_NAME = 64


def resolve_timezone(name: str) -> str:
    """``name`` when it is an IANA zone this machine knows, else "UTC" ("" means UTC)."""
    if not name or name == UTC_ZONE:
        return UTC_ZONE
    if zone_info(name) is None:
        logger.warning("unknown time zone %r in a render request: drawing in UTC", name[:_MAX_ZONE_NAME])
        return UTC_ZONE
    return name


@lru_cache(maxsize=128)
def zone_info(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when there is none (or the name is not a zone key)."""
    if len(name) > _MAX_ZONE_NAME:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a key at all (absolute paths, "..", NUL bytes).
        return None


def resolve_scale(raw: float) -> float:
    """Device pixels per CSS pixel: 0 (unset) is 1; anything outside 1-3 (or not a number) is 1."""
    if raw == 0:
        return DEFAULT_SCALE
    if not math.isfinite(raw) or not MIN_SCALE <= raw <= MAX_SCALE:
        logger.warning("scale %r in a render request is outside %g-%g: drawing at scale 1",
                       raw, MIN_SCALE, MAX_SCALE)
        return DEFAULT_SCALE
    return float(raw)


def bounded_scale(scale: float, width: int, height: int) -> float:
    """``scale``, lowered (to no less than 1) so that the PNG has at most MAX_DEVICE_PIXELS."""
    area = max(1, width) * max(1, height)
    if area * scale * scale <= MAX_DEVICE_PIXELS:
        return scale
    bounded = max(DEFAULT_SCALE, math.floor(math.sqrt(MAX_DEVICE_PIXELS / area) * 4) / 4)
    logger.info("scale %g of a %dx%d chart lowered to %g (at most %d device pixels)",
                scale, width, height, bounded, MAX_DEVICE_PIXELS)
    return bounded


def resolve_theme(name: str) -> str:
    """``name`` when it is a theme ("" is the default, light), else light."""
    if not name:
        return DEFAULT_THEME
    if name not in THEMES:
        logger.warning("unknown theme %r in a render request: drawing the %s theme", name[:32], DEFAULT_THEME)
        return DEFAULT_THEME
    return name
