"""Rollups without the storage: what a 1-minute, 1-hour or 1-day rollup row keeps,
how stored points fold into one, how every summary and group function reads
one exactly, which resolution a read may use, and how long each is kept.

A rollup row holds, for one series and one bucket, every quantity a bucket of
raw points can be asked for: how many points (`point_count`), the sum, min
and max of each point statistic (value = the mean, count, sum, min, max) and
the `last` of the latest point with its time (so "last" stays right under
out-of-order samples). Sums add, extremes keep and the latest time wins, so
rows fold in any order and merge across resolutions; an average is always a
sum over a count, never an average of averages.

A read over [start, end] is split into segments, each read from one
resolution (`read_plan`): the coarsest resolution whose bucket divides the
requested bucket width, for the whole buckets of it inside the window; finer
ones (at last the raw points) for the window's ragged edges. Every requested
bucket is then a union of whole rollup buckets and raw points, so the numbers
are the raw computation's. Where a resolution has expired (its watermark in
`retention_marks`, on the grid of the next coarser resolution:
Retention.watermark; a read raises one written otherwise onto it), the next
coarser one serves those times, rounded to its own buckets: less detail where
detail is gone. Days are UTC days (epoch
seconds a multiple of 86,400), as every bucket of a read is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

RAW, MINUTE, HOUR, DAY = 1, 60, 3600, 86_400  # seconds per bucket of each resolution
LEVELS = (RAW, MINUTE, HOUR, DAY)  # finest first; each width divides the next
ROLLUPS = LEVELS[1:]
LEVEL_NAMES = {RAW: "raw", MINUTE: "minute", HOUR: "hour", DAY: "day"}

# A point's statistics, as the read functions name them (a plain value has
# count 1 and value = sum = min = max = last; a summary's value is its mean).
COLUMNS = ("value", "count", "sum", "min", "max")
KINDS = ("sum", "min", "max")
# The rollup column holding `kind` over one point column; the natural roll-ups
# keep the point column's own name (count and sum add, min and max keep).
NATURAL = {("count", "sum"): "count", ("sum", "sum"): "sum", ("min", "min"): "min", ("max", "max"): "max"}
FIELD_OF = {(c, k): NATURAL.get((c, k), f"{c}_{k}") for c in COLUMNS for k in KINDS}
KIND_OF = {"point_count": "sum"} | {name: k for (c, k), name in FIELD_OF.items()}
INTEGER_FIELDS = frozenset({"point_count", "count", "count_min", "count_max", "last_time"})
FIELDS = ("point_count", *FIELD_OF.values(), "last", "last_time")


@dataclass(frozen=True)
class Retention:
    """How long each resolution is kept, seconds (Librato's defaults: raw
    7 days, 1-minute rollups 90 days, 1-hour rollups 3 years; 1-day rollups
    10 years: a day row per series a day, 3,650 rows a decade, fewer than
    half a year of hour rows, so old windows stay readable for little).
    Each is at least as long as the finer one's (settings.retention_from)."""

    raw: float = 7 * DAY
    minutes: float = 90 * DAY
    hours: float = 3 * 365 * DAY
    days: float = 10 * 365 * DAY

    def keep(self, level: int) -> float:
        return {RAW: self.raw, MINUTE: self.minutes, HOUR: self.hours, DAY: self.days}[level]

    def watermark(self, level: int, now: float) -> int:
        """Times before this are expired at `level`: on the grid of the next
        coarser resolution (a day's for the hours; the day's own for the
        days), so the one serving the times before it takes over on a
        boundary of its own buckets. A resolution is so kept at least its
        retention and less than one bucket of the next coarser one more.
        Marks never rise from finer to coarser (retentions are ordered); where
        two are equal (the coarser serves nothing, read_plan skips it) the
        mark is on the coarser one's next grid too: the one past them takes
        over on its own boundary."""
        return floor_to(int(now - self.keep(level)), next_grid(level))


def next_grid(level: int) -> int:
    """The bucket of the level serving the times before `level`'s watermark
    (the next coarser one's; the coarsest level's own)."""
    return next((width for width in LEVELS if width > level), level)


def floor_to(t: int, width: int) -> int:
    return t - t % width


def ceil_to(t: int, width: int) -> int:
    return -floor_to(-t, width)


def resolution_for(duration: int, width: int) -> int:
    """A chart's bucket size: at most about one point per two pixels, never under a
    second, and a width the rollups serve whole: above a minute a whole
    number of minutes, above an hour a whole number of hours, above a day a
    whole number of days (the read plan then reads 1-minute, 1-hour or 1-day
    rows instead of raw points: a year at 600 px is 183 buckets of 2 days,
    365 day rows a series). Rounded up, so a chart never gets more buckets
    than its pixels hold; it keeps at least half the buckets the pixels ask
    for (the worst case, just over a minute, an hour or a day, doubles the
    width), and at least two thirds where they ask for two of the unit or
    more (the rounding adds under 60 s to a width of 120 s to 3,600 s, under
    3,600 s to one of 7,200 s to 86,400 s, under 86,400 s to one of 172,800 s
    or more)."""
    seconds = max(1, math.ceil(duration / max(50, width // 2)))
    for unit in (DAY, HOUR, MINUTE):
        if seconds > unit:
            return ceil_to(seconds, unit)
    return seconds


def point_fields(time: int, value: float, count: int, total: float, lo: float, hi: float,
                 last: float) -> dict[str, float]:
    """One stored point as a rollup row of one point."""
    stats = {"value": value, "count": count, "sum": total, "min": lo, "max": hi}
    row: dict[str, float] = {"point_count": 1}
    for (column, _kind), name in FIELD_OF.items():
        row[name] = stats[column]
    row["last"], row["last_time"] = last, time
    return row


def points_folded(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[str, float]:
    """(time, point) pairs — a point's value, count, sum, min, max and last —
    as one rollup row: the same as folding their point_fields, faster."""
    rows = list(rows)
    columns = {c: [p[c] for _, p in rows] for c in COLUMNS}
    out: dict[str, float] = {"point_count": len(rows)}
    for (column, kind), name in FIELD_OF.items():
        out[name] = sum(columns[column]) if kind == "sum" else min(columns[column]) if kind == "min" \
            else max(columns[column])
    last_time, last = max(((t, p["last"]) for t, p in rows), key=lambda tl: tl[0])
    out["last"], out["last_time"] = last, last_time
    return out


_REDUCE = {"sum": np.add, "min": np.minimum, "max": np.maximum}
_INTEGER_COLUMNS = frozenset({"series_id", "time", "count"})


def as_arrays(columns: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """Point columns (series_id, time, COLUMNS, last) as the arrays
    columns_folded reads, so folding them at every level converts them once
    (a list of 1,000 floats to an array costs more than a fold of it)."""
    return {c: np.asarray(v, dtype=np.int64 if c in _INTEGER_COLUMNS else np.float64) for c, v in columns.items()}


def columns_folded(series_ids: Sequence[int], times: Sequence[int], stats: Mapping[str, Sequence[float]],
                   width: int) -> list[tuple[int, int, dict[str, float]]]:
    """Points as columns — in (series, time) order, one per second — folded
    into rollup rows of `width` seconds: (series, bucket start, fields), the
    same numbers as points_folded of each bucket's points, in one pass over
    the arrays whatever the number of series and buckets. `stats` holds each
    of COLUMNS and `last`."""
    if not len(times):
        return []
    sids = np.asarray(series_ids, dtype=np.int64)
    t = np.asarray(times, dtype=np.int64)
    buckets = t - t % width
    n = len(t)
    starts = np.flatnonzero(np.concatenate(([True], (buckets[1:] != buckets[:-1]) | (sids[1:] != sids[:-1]))))
    ends = np.append(starts[1:], n) - 1  # each bucket's latest point: its `last`
    out: dict[str, list] = {"point_count": np.diff(np.append(starts, n)).tolist()}
    for column in COLUMNS:
        values = np.asarray(stats[column], dtype=np.int64 if column == "count" else np.float64)
        for kind in KINDS:
            out[FIELD_OF[(column, kind)]] = _REDUCE[kind].reduceat(values, starts).tolist()
    out["last"] = np.asarray(stats["last"], dtype=np.float64)[ends].tolist()
    out["last_time"] = t[ends].tolist()
    names = list(out)
    rows = zip(*(out[name] for name in names))
    return [(sid, start, dict(zip(names, row)))
            for sid, start, row in zip(sids[starts].tolist(), buckets[starts].tolist(), rows)]


def merged(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """Two rollup rows (or partial ones of the same fields) as one: in any order."""
    out = dict(a)
    for name, value in b.items():
        if name in ("last", "last_time"):
            continue
        if name not in out:
            out[name] = value
        elif KIND_OF[name] == "sum":
            out[name] = out[name] + value
        elif KIND_OF[name] == "min":
            out[name] = min(out[name], value)
        else:
            out[name] = max(out[name], value)
    if "last_time" in b and ("last_time" not in a or b["last_time"] >= a["last_time"]):
        out["last"], out["last_time"] = b["last"], b["last_time"]
    return out


def folded(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in rows:
        out = merged(out, row) if out else dict(row)
    return out


@dataclass(frozen=True)
class Reading:
    """How a bucket's value comes from its rollup fields: `numerator`, over
    `denominator` when it is an average."""

    numerator: str
    denominator: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)

    def value(self, row: Mapping[str, float]) -> float:
        if self.denominator is None:
            return float(row[self.numerator])
        return float(row[self.numerator]) / float(row[self.denominator])


def summary_reading(function: str) -> Reading:
    """MeasurementStore.bucketed: a summary function over the samples of a
    bucket (average = all sums over all counts)."""
    if function in ("sum", "min", "max", "count"):
        return Reading(function)  # the natural roll-ups: rollup columns of the same names
    return Reading("sum", "count")


def downsample_reading(statistic: str, downsample: str) -> Reading:
    """MeasurementStore.bucketed_by: `downsample` over each point's `statistic`
    (count = how many points; average = the statistic's sum over that)."""
    column = statistic if statistic in ("sum", "min", "max", "count") else "value"
    if downsample in KINDS:
        return Reading(FIELD_OF[(column, downsample)])
    if downsample == "count":
        return Reading("point_count")
    return Reading(FIELD_OF[(column, "sum")], "point_count")


@dataclass(frozen=True)
class Segment:
    """Times [lo, hi) read from one resolution (`level` seconds a bucket)."""

    level: int
    lo: int
    hi: int


def _split(lo: int, hi: int, levels: tuple[int, ...]) -> list[Segment]:
    """[lo, hi) as whole buckets of the coarsest level, the edges from finer ones."""
    if lo >= hi:
        return []
    level, finer = levels[0], levels[1:]
    if not finer:
        return [Segment(level, lo, hi)]
    a, b = ceil_to(lo, level), floor_to(hi, level)
    if a >= b:
        return _split(lo, hi, finer)
    return _split(lo, a, finer) + [Segment(level, a, b)] + _split(b, hi, finer)


def _serving_marks(expired_before: Mapping[int, int]) -> dict[int, int]:
    """Per level, where its zone starts (it serves from there up to the
    finer level's): its watermark raised onto the grid of the next coarser
    level (whose rows serve the times before it) and to at least every
    coarser level's. Retention.watermark writes them so already; a mark
    written otherwise (a replica from before day rollups: on the hour grid)
    still reads exactly, as a coarser level holds every time from its own
    mark on: less detail for up to a bucket of it."""
    out: dict[int, int] = {}
    floor = 0
    for level in reversed(LEVELS):
        floor = max(floor, ceil_to(expired_before.get(level, 0), next_grid(level)))
        out[level] = floor
    return out


def read_plan(start: int, end: int, resolution: int, expired_before: Mapping[int, int]) -> list[Segment]:
    """The segments a read of [start, end] (inclusive, as raw reads filter)
    in buckets of `resolution` seconds takes, oldest first. `expired_before`:
    per level, the time before which its rows were deleted (absent: none)."""
    marks = _serving_marks(expired_before)
    segments: list[Segment] = []
    upper: int | None = None  # the zone above (a finer level's) starts here
    for finest in LEVELS:
        zone_lo = marks[finest]
        if upper is not None and zone_lo >= upper:
            continue  # this level is expired beyond the finer one: it serves nothing
        lo, hi = max(start, zone_lo), end + 1 if upper is None else min(end + 1, upper)
        upper = zone_lo
        if lo >= hi:
            continue
        # Only this level is left here: read its whole buckets.
        lo, hi = floor_to(lo, finest), ceil_to(hi, finest)
        levels = tuple(level for level in reversed(ROLLUPS) if level > finest and resolution % level == 0)
        segments = _split(lo, hi, (*levels, finest)) + segments
    return segments


def only_raw(plan: list[Segment], start: int, end: int) -> bool:
    """The plan is today's read: every raw point of the window, nothing else."""
    return plan == [Segment(RAW, start, end + 1)] or (not plan and start > end)
