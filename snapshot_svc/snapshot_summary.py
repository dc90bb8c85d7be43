"""One line about a snapshot's data, computed from what was frozen
(snapshot_svc.frozen_data), e.g. "queue.depth peaked at 4,210 at 14:32 UTC,
ended at 380; 3 streams". It is the image's alt text on the share page,
Slack's fallback text, the e-mail's text part and the PNG's tEXt chunk, so it
is plain text, one line, at most MAX_CHARS characters: times in the
snapshot's zone with its abbreviation, numbers with thousands separators and
the chart's short units."""

from __future__ import annotations

import math
import zoneinfo
from datetime import datetime

from chartsnap.snapshot_options import DEFAULT_TIMEZONE
from snapshot_svc.frozen_data import points_of

MAX_CHARS = 200
MAX_LABEL_CHARS = 60
NO_DATA = "no data in the window"
DAY = 86_400


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_number(value: float) -> str:
    """4210 → "4,210"; 0.25 → "0.25"; 1234.5 → "1,234.5"; 3e20 → "3e+20"."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    if size >= 1e15 or (0 < size < 0.001):
        return f"{value:.3g}"
    if size >= 1000:
        text = f"{value:,.1f}"
    elif size >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.3f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_units(value: float, units: str) -> str:
    number = format_number(value)
    if not units:
        return number
    return f"{number}{units}" if units == "%" else f"{number} {units}"


def format_time(epoch: float, zone_name: str, with_date: bool) -> str:
    try:
        zone = zoneinfo.ZoneInfo(zone_name or DEFAULT_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)
    moment = datetime.fromtimestamp(epoch, zone)
    clock = moment.strftime("%H:%M %Z")
    return f"{moment.strftime('%b')} {moment.day} {clock}" if with_date else clock


def summary_of(body: dict) -> str:
    """The line for a frozen body (see snapshot_svc.frozen_data)."""
    units = _one_line(body.get("units_short") or "")[:20]
    series = body.get("series") or []
    if body.get("chart_type") == "bignumber":
        # The tile shows the chart's name above the number: the line names it too.
        title = (body.get("drawing") or {}).get("title") or ""
        name = _clip(_one_line(title or (series[0]["label"] if series else "")), MAX_LABEL_CHARS) or "the value"
        value = body.get("big_value")
        if value is None:
            return _clip(f"{name}: {NO_DATA}", MAX_CHARS)
        return _clip(f"{name} is {with_units(value, units)}", MAX_CHARS)
    drawn = [(s, points_of(s)) for s in series]
    with_data = [(s, pts) for s, pts in drawn if pts]
    if not with_data:
        return NO_DATA
    # The stream that reached the highest value names the line; ties go to the first drawn.
    top, points = max(with_data, key=lambda sp: max(v for _, v in sp[1]))
    peak_time, peak = max(points, key=lambda p: p[1])
    window = body.get("window") or {}
    with_date = (window.get("end", 0) - window.get("start", 0)) > DAY
    line = (f"{_clip(_one_line(top['label']), MAX_LABEL_CHARS)} peaked at {with_units(peak, units)} at "
            f"{format_time(peak_time, body.get('timezone') or DEFAULT_TIMEZONE, with_date)}, "
            f"ended at {with_units(points[-1][1], units)}")
    if len(series) > 1:
        line += f"; {len(series)} streams"
    return _clip(line, MAX_CHARS)
