"""Measurements: validating and storing samples, and reading them back bucketed.

A series is one metric with one exact tag set. Points are keyed by
(series, second); a second sample in the same second replaces the first.
Every write also keeps the series' 1-minute, 1-hour and 1-day rollups, in its own
transaction, and a read takes the coarsest resolution that gives its buckets
exactly (snapshot_svc.rollup_rules, snapshot_svc.rollup_store)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from chartsnap import errors
from chartsnap.bounds import MAX_BATCH, MAX_MEASUREMENT_TAGS, MAX_QUERY_TAGS
from snapshot_svc.patterns import matches_any
from snapshot_svc import metric_rules, rollup_rules, rollup_store
from snapshot_svc.tables import metrics, points, series

METRIC_NAME = re.compile(r"[A-Za-z0-9.:\-_]{1,255}")
# Librato's restrictions: tag names /\A[-.:_\w]{1,64}\z/, values
# /\A[-.:_?\\\/\w ]{1,255}\z/, both always lower-cased.
TAG_NAME = re.compile(r"[-.:_A-Za-z0-9]{1,64}")
TAG_VALUE = re.compile(r"[-.:_?\\/A-Za-z0-9 ]{1,255}")
MAX_TAG_VALUE = 255
MAX_FUTURE_SECONDS = 86400
MAX_SERIES_PER_QUERY = 200
MAX_POINTS_PER_QUERY = 300_000  # bounds a reply's memory and size, whatever the window
LOOKUP_CHUNK = 400
AGGREGATES = ("average", "mean", "sum", "min", "max", "count")
MAX_POINTS_PER_SERIES = 100_000
MAX_KNOWN_SERIES = 100_000  # series ids a snapshot service remembers (forgotten all at once past it)
# Librato's float restrictions: a larger magnitude is refused, a smaller one is 0.0.
MAX_MAGNITUDE = 1e126
MIN_MAGNITUDE = 1e-130
SUMMARY_FIELDS = ("sum", "min", "max", "last", "stddev", "stddev_m2", "sum_squares")

# Which API wrote a series. A read never mixes the two (ORIGIN_AUTO).
TAGGED, LEGACY = "tagged", "legacy"
ORIGIN_AUTO = "auto"  # a metric's tagged series where any match, else its legacy ones


@dataclass
class Sample:
    """One validated sample, ready to store."""

    metric: str
    tags: dict[str, str]
    time: int
    value: float
    count: int
    sum: float
    min: float
    max: float
    last: float
    stddev: float | None = None
    origin: str = TAGGED
    type: str = "gauge"
    period: int | None = None
    attributes: dict = field(default_factory=dict)


def _finite(value: Any) -> bool:
    """A finite number Librato stores: at most MAX_MAGNITUDE either way."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) <= MAX_MAGNITUDE


def _number_problem(value: Any, key: str) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return f"{key} must be a finite number"
    if abs(value) > MAX_MAGNITUDE:
        return f"{key} must be at most {MAX_MAGNITUDE:g} in magnitude"
    return None


def _float(value: float) -> float:
    return 0.0 if abs(value) < MIN_MAGNITUDE else float(value)


def checked_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags as stored (names and values lower-cased), or ValueError naming the problem."""
    if len(tags) > MAX_MEASUREMENT_TAGS:
        raise ValueError(f"at most {MAX_MEASUREMENT_TAGS} tags")
    out: dict[str, str] = {}
    for name, value in tags.items():
        if not TAG_NAME.fullmatch(name):
            raise ValueError(f"tag name {name[:64]!r} must be 1-64 of letters, digits and .:-_")
        if not isinstance(value, str) or not TAG_VALUE.fullmatch(value):
            raise ValueError(f"tag {name} must have a value of 1-{MAX_TAG_VALUE} characters: letters, digits, "
                             "spaces and .:-_?\\/")
        out[name.lower()] = value.lower()
    if len(out) < len(tags):
        raise ValueError("tag names differ only in case")
    return out


def sample_tags(m: dict, batch_tags: dict[str, str]) -> dict[str, str]:
    """Librato's rule: a sample's own tags replace the batch's, never merge
    with them, and only when it has some: an empty `tags` object (Librato's
    own agents send one with every sample) replaces nothing."""
    own = m.get("tags") or {}
    return dict(own) if m.get("has_tags") and own else dict(batch_tags)


def _stddev(m: dict, count: int, mean: float, problems: list[str]) -> float | None:
    """The population standard deviation a summary reports, in whichever of
    Librato's forms: `stddev`, `stddev_m2` (Welford's M2, the sum of squared
    deviations from the mean) or the legacy `sum_squares`."""
    given = [k for k in ("stddev", "stddev_m2", "sum_squares") if m.get(k) is not None]
    if len(given) > 1:
        problems.append(f"only one of {', '.join(given)} may be set")
        return None
    if not given:
        return None
    key = given[0]
    raw = m[key]
    if not _finite(raw) or raw < 0:
        problems.append(f"{key} must be a finite number, at least 0")
        return None
    if key == "stddev":
        return float(raw)
    if key == "stddev_m2":
        return math.sqrt(raw / count)
    return math.sqrt(max(0.0, raw / count - mean * mean))


def validate_samples(
    raw: Iterable[dict], batch_tags: dict[str, str], batch_time: int | None, now: float,
    batch_period: int | None = None, origin: str = TAGGED,
) -> tuple[list[Sample], dict[str, list[str]]]:
    """Good samples and, per client path, why the others were refused. The
    batch's tags, time and period apply to every sample without its own."""
    good: list[Sample] = []
    bad: dict[str, list[str]] = {}
    raw = list(raw)
    if len(raw) > MAX_BATCH:
        raise errors.InvalidParams.one("measurements", f"at most {MAX_BATCH} items")
    # A batch repeats its names and tag sets: each distinct one is checked once.
    good_names: dict[str, bool] = {}
    checked: dict[tuple, dict[str, str] | str] = {}  # tag pairs -> tags as stored, or the problem
    for m in raw:
        where = m.get("path") or "measurements"
        problems: list[str] = []
        name = m.get("name") or ""
        name_ok = good_names.get(name)
        if name_ok is None:
            name_ok = good_names[name] = METRIC_NAME.fullmatch(name) is not None
        if not name_ok:
            problems.append("name must be 1-255 of letters, digits and .:-_")
        given = sample_tags(m, batch_tags)
        tag_key: tuple | None = tuple(given.items())
        try:
            tags_or_problem = checked.get(tag_key)
        except TypeError:  # a value that is no string (and unhashable): checked, not remembered
            tag_key, tags_or_problem = None, None
        if tags_or_problem is None:
            try:
                tags_or_problem = checked_tags(given)
            except ValueError as exc:
                tags_or_problem = str(exc)
            if tag_key is not None:
                checked[tag_key] = tags_or_problem
        tags: dict[str, str] = {}
        if isinstance(tags_or_problem, str):
            problems.append(tags_or_problem)
        else:
            tags = tags_or_problem
        when = m.get("time", batch_time)
        if when is None:
            when = int(now)
        elif when < 0 or when > now + MAX_FUTURE_SECONDS:
            problems.append("time must be epoch seconds, at most one day in the future")
        period = m.get("period", batch_period)
        if period is not None and not metric_rules.PERIOD_RANGE[0] <= period <= metric_rules.PERIOD_RANGE[1]:
            problems.append(f"period must be from {metric_rules.PERIOD_RANGE[0]} to "
                            f"{metric_rules.PERIOD_RANGE[1]} seconds")
        kind = m.get("type") or "gauge"
        if kind not in metric_rules.TYPES or (kind == "counter" and origin != LEGACY):
            problems.append("type must be gauge (counter only through POST /v1/metrics)")
        attributes: dict = {}
        if m.get("attributes"):
            try:
                attributes = metric_rules.applied({}, metric_rules.attribute_changes(m["attributes"]))
            except errors.InvalidParams as exc:
                problems.extend(f"{k} {', '.join(v)}" for k, v in exc.fields.items())
        stddev = None
        if m.get("value") is not None and m.get("count") is not None:
            problems.append("value and count are exclusive: a summary sends count and sum, not value")
            sample_stats = (0, 0.0, 0.0, 0.0, 0.0)
            value = 0.0
        elif m.get("value") is not None:
            value = m["value"]
            if problem := _number_problem(value, "value"):
                problems.append(problem)
            sample_stats = (1, value, value, value, value)
        elif m.get("count") is not None and m.get("sum") is not None:
            count, total = m["count"], m["sum"]
            if not isinstance(count, int) or count < 1:
                problems.append("count must be a positive integer")
            if problem := _number_problem(total, "sum"):
                problems.append(problem)
            extremes = [m.get(k) for k in ("min", "max", "last")]
            if any(v is not None and not _finite(v) for v in extremes):
                problems.append("min, max and last must be finite numbers")
            elif m.get("min") is not None and m.get("max") is not None and m["min"] > m["max"]:
                problems.append("min must not be above max")
            mean = total / count if not problems else 0.0
            if not problems:
                stddev = _stddev(m, count, mean, problems)
            lo = m.get("min", mean)
            hi = m.get("max", mean)
            sample_stats = (count, total, lo, hi, m.get("last", mean))
            value = mean  # a summary is stored, and drawn, as its mean
        else:
            problems.append("value, or count and sum, is required")
            sample_stats = (0, 0.0, 0.0, 0.0, 0.0)
            value = 0.0
        if problems:
            bad[where] = problems
            continue
        count, total, lo, hi, last = sample_stats
        good.append(Sample(name.lower(), tags, int(when), _float(value), int(count),
                           _float(total), _float(lo), _float(hi), _float(last), stddev, origin,
                           kind, period, attributes))
    return good, bad


@dataclass
class SeriesRun:
    """Plain samples (a value and a time each, the batch's period, nothing
    else) of one metric and tag set, as columns: most of what agents send,
    validated and stored without a Sample each."""

    metric: str
    tags: dict[str, str]
    times: list[int]
    values: list[float]
    origin: str = TAGGED
    period: int | None = None

    def samples(self) -> list[Sample]:
        """The same samples, one Sample each."""
        return [Sample(self.metric, dict(self.tags), t, v, 1, v, v, v, v, None, self.origin, "gauge", self.period)
                for t, v in zip(self.times, self.values)]


def validate_run(
    name: str, own_tags: dict[str, str], has_tags: bool, times: list[int], values: list[float], paths: list[str],
    batch_tags: dict[str, str], now: float, batch_period: int | None = None, origin: str = TAGGED,
) -> tuple[SeriesRun | None, list[Sample], dict[str, list[str]]]:
    """validate_samples of plain samples of one name and tag set, given as
    columns (`paths`: each one's client path): checked as a whole — the name
    and tags once, the times and values by their extremes — and kept as one
    SeriesRun. A run with any bad sample is validated sample by sample
    instead (its good ones as Samples), so every refusal reads the same."""
    if not len(times) == len(values) == len(paths):
        raise errors.InvalidParams.one("columns", "times, values and positions must be as many")
    if not times:
        return None, [], {}
    given = dict(own_tags) if has_tags and own_tags else dict(batch_tags)
    try:
        tags = checked_tags(given)
    except ValueError:
        tags = None
    array = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(array)
    period_ok = batch_period is None or metric_rules.PERIOD_RANGE[0] <= batch_period <= metric_rules.PERIOD_RANGE[1]
    if (tags is None or not period_ok or METRIC_NAME.fullmatch(name) is None or min(times) < 0
            or max(times) > now + MAX_FUTURE_SECONDS or not np.isfinite(array).all()
            or magnitude.max() > MAX_MAGNITUDE):
        good, bad = validate_samples(
            [{"path": path, "name": name, "value": v, "time": t, "tags": own_tags, "has_tags": has_tags}
             for path, t, v in zip(paths, times, values)], batch_tags, None, now, batch_period, origin)
        return None, good, bad
    tiny = magnitude < MIN_MAGNITUDE  # stored as 0.0, as _float does
    if tiny.any():
        values = np.where(tiny, 0.0, array).tolist()
    return SeriesRun(name.lower(), tags, list(times), list(values), origin, batch_period), [], {}


def canonical_tags(tags: dict[str, str]) -> str:
    return json.dumps(tags, sort_keys=True, separators=(",", ":"))


def tags_digest(canonical: str, origin: str = TAGGED) -> str:
    """What the series' unique key holds (series.tags_sha256): the digest of
    its canonical tags, and for a legacy series of its origin too, so that a
    legacy {"source": "web1"} and a tagged {"source": "web1"} are two series."""
    key = canonical if origin == TAGGED else f"{origin}\n{canonical}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class QueryInput:
    """A measurement query as the caller sent it (None / "" / 0 = not given)."""

    name: str
    start_time: int | None = None
    end_time: int | None = None
    duration: int | None = None
    resolution: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    group_by: str = ""
    group_by_function: str = ""
    summary_function: str = ""
    origin: str = ""


@dataclass(frozen=True)
class ValidQuery:
    name: str
    start: int
    end: int
    resolution: int
    tags: dict[str, str]
    group_by: str
    group_function: str
    summary_function: str
    origin: str = ORIGIN_AUTO


def validate_query(q: QueryInput, now: int) -> ValidQuery:
    """The window (end defaults to now; start from start_time or duration),
    resolution and functions of a query, every problem reported at once."""
    problems = errors.ParamErrors()
    end = now if q.end_time is None else q.end_time
    if q.start_time is not None:
        start = q.start_time
    elif q.duration is not None:
        start = end - q.duration
    else:
        problems.add("start_time", "start_time or duration is required")
        start = end
    if start > end:
        problems.add("start_time", "must be before end_time")
    resolution = q.resolution or 1
    if resolution < 1:
        problems.add("resolution", "must be a positive number of seconds")
    if (end - start) / resolution > MAX_POINTS_PER_SERIES:
        problems.add("resolution", f"too fine for this window: at most {MAX_POINTS_PER_SERIES} points per series")
    for name, function in (("group_by_function", q.group_by_function), ("summary_function", q.summary_function)):
        if function and function not in AGGREGATES:
            problems.add(name, f"must be one of {', '.join(AGGREGATES)}")
    if len(q.tags) > MAX_QUERY_TAGS:
        problems.add("tags", f"at most {MAX_QUERY_TAGS} tag filters")
    if q.origin not in ("", TAGGED, LEGACY):
        problems.add("origin", f"must be {TAGGED} or {LEGACY}")
    problems.raise_if_any()
    return ValidQuery(q.name, start, end, resolution, dict(q.tags), q.group_by.lower(),
                      q.group_by_function or "average", q.summary_function or "average", q.origin or ORIGIN_AUTO)


@dataclass(frozen=True)
class SeriesData:
    tags: dict[str, str]
    points: list[tuple[int, float]]  # (bucket start, value), ascending


def combine(points_by_series: list[list[tuple[int, float]]], function: str) -> list[tuple[int, float]]:
    """Merge several series into one, bucket by bucket, with a group function."""
    if len(points_by_series) == 1 and _ascending([t for t, _ in points_by_series[0]]):
        # One series, one value a bucket (a stream filtered to one host): each
        # bucket's value is summarise of that one value, computed here without
        # a list per bucket — exactly what the general path gives.
        return _one_series(points_by_series[0], function)
    buckets: dict[int, list[float]] = defaultdict(list)
    for pts in points_by_series:
        for t, v in pts:
            buckets[t].append(v)
    return [(t, float(summarise(vs, function))) for t, vs in sorted(buckets.items())]


def _one_series(pts: list[tuple[int, float]], function: str) -> list[tuple[int, float]]:
    """combine of one series with ascending times: summarise([v], function) per point."""
    if function in ("min", "max"):
        return [(t, float(v)) for t, v in pts]
    if function == "count":
        return [(t, 1.0) for t, _ in pts]
    # sum, and the average (anything else): sum([v]) is 0 + v (sum starts at
    # 0, which makes a -0.0 read 0.0), the average that over 1.
    return [(t, float(0 + v)) for t, v in pts]


def summarise(values: list[float], function: str) -> float | None:
    """The one implementation of the AGGREGATES over plain values (anything
    else is the average); None for no values."""
    if not values:
        return None
    if function == "sum":
        return sum(values)
    if function == "min":
        return min(values)
    if function == "max":
        return max(values)
    if function == "count":
        return float(len(values))
    return sum(values) / len(values)


def _written_points(samples: list[tuple[int, Sample]], runs: list[tuple[int, SeriesRun]]) -> rollup_store.WrittenPoints:
    """A batch's points as columns in (series, time) order, one per (series,
    second), the last sample winning — as it would across requests, and
    PostgreSQL refuses two in one upsert. A series' run in time order (an
    agent's) is taken as it is; anything else goes through a dict by time."""
    by_time: dict[int, dict[int, tuple]] = defaultdict(dict)  # series -> time -> (value, count, sum, min, max, last, stddev)
    for sid, s in samples:
        by_time[sid][s.time] = (s.value, s.count, s.sum, s.min, s.max, s.last, s.stddev)
    whole: dict[int, SeriesRun] = {}
    for sid, run in runs:
        if sid not in by_time and sid not in whole and _ascending(run.times):
            whole[sid] = run
            continue
        if sid in whole:
            by_time[sid].update(_by_time(whole.pop(sid)))
        by_time[sid].update(_by_time(run))
    out = rollup_store.WrittenPoints([], [], [], [], [], [], [], [], [])
    for sid in sorted({*by_time, *whole}):
        if sid in whole:
            run = whole[sid]
            n = len(run.times)
            columns = (run.times, run.values, [1] * n, run.values, run.values, run.values, run.values, [None] * n)
        else:
            times, stats = zip(*sorted(by_time[sid].items()))
            columns = (times, *zip(*stats))
        out.series_id.extend([sid] * len(columns[0]))
        for name, values in zip(rollup_store.POINT_COLUMNS[1:], columns):
            getattr(out, name).extend(values)
    return out


def _by_time(run: SeriesRun) -> Iterator[tuple[int, tuple]]:
    """A run's points as (time, (value, count, sum, min, max, last, stddev)): a plain value is all of them."""
    return ((t, (v, 1, v, v, v, v, None)) for t, v in zip(run.times, run.values))


def _ascending(times: list[int]) -> bool:
    return all(a < b for a, b in zip(times, times[1:]))


def _matching(candidates: list[tuple[int, dict[str, str], str]], filters: list[tuple[str, list[str]]],
              origin: str) -> list[tuple[int, dict[str, str]]]:
    """Of a metric's series (id, tags, origin; by id), those matching_series answers."""
    lowered = [(name.lower(), [p.lower() for p in patterns]) for name, patterns in filters]
    by_origin: dict[str, list[tuple[int, dict[str, str]]]] = {TAGGED: [], LEGACY: []}
    for sid, tags, series_origin in candidates:
        if all(name in tags and matches_any(patterns, tags[name]) for name, patterns in lowered):
            by_origin.setdefault(series_origin, []).append((sid, dict(tags)))  # each answer its own dict
    if origin == ORIGIN_AUTO:
        return by_origin[TAGGED] or by_origin[LEGACY]
    return by_origin.get(origin, [])


# The reads every snapshot makes, built once with their values bound at
# execution: building and keying a statement costs more than SQLite's answer.
_SERIES_OF_METRICS = (select(series.c.id, series.c.metric, series.c.tags, series.c.origin)
                      .where(series.c.account_id == bindparam("account_id"),
                             series.c.metric.in_(bindparam("metrics", expanding=True)))
                      .order_by(series.c.id))
_METRIC_DISPLAYS = (select(metrics.c.name, metrics.c.period, metrics.c.attributes)
                    .where(metrics.c.account_id == bindparam("account_id"),
                           metrics.c.name.in_(bindparam("names", expanding=True))))
_COUNTER_SERIES = (select(series.c.id).join(metrics, (metrics.c.account_id == series.c.account_id)
                                            & (metrics.c.name == series.c.metric))
                   .where(series.c.id.in_(bindparam("ids", expanding=True)), series.c.origin == LEGACY,
                          metrics.c.type == "counter"))


def _raw_buckets_query(agg: Any) -> Any:
    """`agg` over each bucket of the raw points of some series (ids, start,
    end and resolution bound at execution), by series and bucket."""
    bucket = points.c.time - (points.c.time % bindparam("resolution", type_=points.c.time.type))
    return (select(points.c.series_id, bucket.label("bucket"), agg.label("value"))
            .where(points.c.series_id.in_(bindparam("ids", expanding=True)),
                   points.c.time >= bindparam("start", type_=points.c.time.type),
                   points.c.time <= bindparam("end", type_=points.c.time.type))
            .group_by(points.c.series_id, bucket)
            .order_by(points.c.series_id, bucket))


@functools.lru_cache(maxsize=64)  # one per function name: a handful
def _summary_buckets_query(function: str) -> Any:
    """bucketed's read: `function` of the stored summaries."""
    return _raw_buckets_query({
        "sum": func.sum(points.c.sum), "min": func.min(points.c.min), "max": func.max(points.c.max),
        "count": func.sum(points.c.count),
    }.get(function, func.sum(points.c.sum) / func.sum(points.c.count)))


@functools.lru_cache(maxsize=64)  # one per (statistic, downsample): a few dozen
def _downsample_buckets_query(statistic: str, downsample: str) -> Any:
    """bucketed_by's read: `downsample` of each sample's `statistic`."""
    column = {"sum": points.c.sum, "min": points.c.min, "max": points.c.max,
              "count": points.c.count}.get(statistic, points.c.value)
    return _raw_buckets_query({"sum": func.sum(column), "min": func.min(column), "max": func.max(column),
                               "count": func.count()}.get(downsample, func.avg(column)))


class MeasurementStore:
    def __init__(self, engine: Engine, retention: rollup_rules.Retention | None = None) -> None:
        """`retention`: how long each resolution is kept (None: everything, forever)."""
        self.engine = engine
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)
        self._retention = rollup_store.RetentionSweep(engine, retention)
        # (account, metric, origin, sorted tag pairs) -> series id, of committed series.
        self._known_series: dict[tuple, int] = {}
        self._known_metrics: set[tuple[int, str]] = set()  # (account, metric) of committed metrics

    def expire_once(self, now: float) -> int:
        """One bounded step of retention (rollup_store.RetentionSweep): rows deleted."""
        return self._retention.step(now)

    def submit(self, account_id: int, samples: list[Sample], runs: Iterable[SeriesRun] = ()) -> int:
        """Store a batch in one transaction: its metrics, its series, its
        points (one executemany) and their rollups (one per resolution).
        The runs' samples come after `samples` (the later of a second wins)."""
        runs = list(runs)
        if not samples and not runs:
            return 0
        created: dict[tuple, int] = {}
        with self.engine.begin() as conn:
            self._ensure_metrics(conn, account_id, samples, runs)

            # Each sample's series key (metric, origin, tags as sorted pairs), its id
            # from this process's memory of series (ids never change: a series is never
            # deleted) or looked up, the missing ones created.
            sample_keys = [(s.metric, s.origin, tuple(sorted(s.tags.items()))) for s in samples]
            run_keys = [(r.metric, r.origin, tuple(sorted(r.tags.items()))) for r in runs]
            ids = {}
            unknown = set()
            for key in {*sample_keys, *run_keys}:
                sid = self._known_series.get((account_id, *key))
                if sid is None:
                    unknown.add(key)
                else:
                    ids[key] = sid
            if unknown:
                canonical = {key: canonical_tags(dict(key[2])) for key in unknown}
                by_canonical = self._series_ids(conn, account_id, {(m, o, canonical[(m, o, t)]) for m, o, t in unknown})
                created = {key: by_canonical[(key[0], key[1], canonical[key])] for key in unknown}
                ids |= created
            written = _written_points([(ids[key], s) for s, key in zip(samples, sample_keys)],
                                      [(ids[key], r) for r, key in zip(runs, run_keys)])
            rollup_store.hold_series(conn, set(ids.values()))
            before = rollup_store.existing_points(conn, rollup_store.keys_maybe_stored(conn, written.keys()))
            rollup_store.write_points(conn, written)  # in key order, as the series above
            rollup_store.fold_written(conn, written, before)
        if len(self._known_series) + len(created) > MAX_KNOWN_SERIES:
            self._known_series.clear()
        self._known_series.update({(account_id, *key): sid for key, sid in created.items()})  # committed now
        if len(self._known_metrics) > MAX_KNOWN_SERIES:
            self._known_metrics.clear()
        self._known_metrics.update((account_id, key[0]) for key in ids)
        return len(samples) + sum(len(r.times) for r in runs)

    def _ensure_metrics(self, conn: Any, account_id: int, samples: list[Sample], runs: list[SeriesRun]) -> None:
        """Librato's rule: a sample's metric properties (type, period,
        attributes) make the metric when it does not exist yet, and change
        nothing once it does (PUT /v1/metrics/:name changes them)."""
        first: dict[str, tuple[str, int | None, dict]] = {}
        for s in samples:
            first.setdefault(s.metric, (s.type, s.period, s.attributes))
        for r in runs:
            first.setdefault(r.metric, ("gauge", r.period, {}))
        # A metric once committed stays (metrics are never deleted): its insert would change nothing.
        first = {name: properties for name, properties in first.items() if (account_id, name) not in self._known_metrics}
        if not first:
            return
        now = time.time()
        stmt = self._insert(metrics).on_conflict_do_nothing(index_elements=[metrics.c.account_id, metrics.c.name])
        conn.execute(stmt, [
            {"account_id": account_id, "name": name, "type": kind, "period": period,
             "attributes": attributes, "created_at": now, "updated_at": now}
            for name, (kind, period, attributes) in sorted(first.items())
        ])

    def _series_ids(self, conn: Any, account_id: int, keys: set[tuple[str, str, str]]) -> dict[tuple, int]:
        """Ids of exactly these (metric, origin, tags) series, creating the missing ones."""
        wanted = sorted(keys)
        found = self._lookup_series(conn, account_id, wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            stmt = self._insert(series).on_conflict_do_nothing(
                index_elements=[series.c.account_id, series.c.metric, series.c.tags_sha256])
            conn.execute(stmt, [{"account_id": account_id, "metric": m, "origin": o, "tags": t,
                                 "tags_sha256": tags_digest(t, o)} for m, o, t in missing])
            found |= self._lookup_series(conn, account_id, missing)
        return found

    @staticmethod
    def _lookup_series(conn: Any, account_id: int, keys: list[tuple[str, str, str]]) -> dict[tuple, int]:
        found: dict[tuple, int] = {}
        for i in range(0, len(keys), LOOKUP_CHUNK):
            by_digest = {(m, tags_digest(t, o)): (m, o, t) for m, o, t in keys[i:i + LOOKUP_CHUNK]}
            rows = conn.execute(
                select(series.c.id, series.c.metric, series.c.tags_sha256)
                .where(series.c.account_id == account_id,
                       tuple_(series.c.metric, series.c.tags_sha256).in_(list(by_digest)))
            )
            found |= {by_digest[(r.metric, r.tags_sha256)]: r.id for r in rows}
        return found

    def connect(self) -> Connection:
        """One connection for several reads (a chart's: its metrics, series
        and buckets), each method taking it as `conn`: a connection per read
        costs more than the read itself."""
        return self.engine.connect()

    @contextmanager
    def _connection(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
            return
        with self.engine.connect() as own:
            yield own

    def matching_series(
        self, account_id: int, metric: str, filters: list[tuple[str, list[str]]], origin: str = ORIGIN_AUTO,
        conn: Connection | None = None,
    ) -> list[tuple[int, dict[str, str]]]:
        """Series of `metric` whose tags satisfy every (tag name, patterns)
        filter (tags are stored lower-cased, so patterns match in any case),
        of one origin: TAGGED, LEGACY, or ORIGIN_AUTO — the tagged ones where
        any match, else the legacy ones. Never both: a sample written through
        both APIs is two honest series, not one averaged mixture."""
        return self.series_matching(account_id, [(metric, filters)], origin, conn)[0]

    def series_matching(
        self, account_id: int, wanted: Sequence[tuple[str, list[tuple[str, list[str]]]]],
        origin: str = ORIGIN_AUTO, conn: Connection | None = None,
    ) -> list[list[tuple[int, dict[str, str]]]]:
        """For each (metric, filters) of `wanted`, what matching_series
        answers for it; the series of all their metrics read in one statement
        (a chart's streams often draw one metric with different tags)."""
        if not wanted:
            return []
        with self._connection(conn) as c:
            rows = c.execute(_SERIES_OF_METRICS,
                             {"account_id": account_id, "metrics": sorted({m.lower() for m, _ in wanted})}).all()
        by_metric: dict[str, list[tuple[int, dict[str, str], str]]] = defaultdict(list)
        for sid, metric, tags, series_origin in rows:  # ordered by id
            by_metric[metric].append((sid, json.loads(tags), series_origin))
        return [_matching(by_metric.get(metric.lower(), []), filters, origin) for metric, filters in wanted]

    def bucketed(
        self, series_ids: list[int], start: int, end: int, resolution: int, function: str = "average",
        conn: Connection | None = None,
    ) -> dict[int, list[tuple[int, float]]]:
        """Per series, points in [start, end] averaged (or summed…) into buckets."""
        if not series_ids:
            return {}
        return self._buckets(series_ids, start, end, resolution, _summary_buckets_query(function), function,
                             rollup_rules.summary_reading(function), conn)

    def _buckets(self, series_ids: list[int], start: int, end: int, resolution: int, query: Any,
                 counter_function: str, reading: rollup_rules.Reading,
                 conn: Connection | None = None) -> dict[int, list[tuple[int, float]]]:
        """Per series, `query` (_raw_buckets_query) over each bucket of points in [start, end] (or
        the same, `reading`, from the rollups where whole rollup buckets
        cover the window); legacy counters' deltas bucketed with
        `counter_function` instead."""
        out: dict[int, list[tuple[int, float]]] = defaultdict(list)
        with self._connection(conn) as conn:
            counters = self._counter_series(conn, series_ids)
            plain = [sid for sid in series_ids if sid not in counters]
            plan = self._read_plan(conn, start, end, resolution)
            if plain and not rollup_rules.only_raw(plan, start, end):
                fields = rollup_store.bucket_fields(conn, plain, plan, resolution, reading.fields)
                for sid, by_bucket in fields.items():
                    out[sid] = [(t, reading.value(row)) for t, row in sorted(by_bucket.items())]
                plain = []
            if plain:
                # The driver's own tuples, unpacked by position: a Row per bucket
                # costs more than the database's read of it (~900 rows a chart),
                # and every value is made an int or float here anyway.
                with conn.execute(query, {"ids": plain, "start": start, "end": end,
                                          "resolution": resolution}) as result:
                    rows = result.cursor.fetchall()
                for sid, bucket_start, value in rows:
                    out[sid].append((int(bucket_start), float(value)))
            if counters:
                out.update(self._counter_buckets(conn, sorted(counters), start, end, resolution, counter_function))
        return out

    @staticmethod
    def _read_plan(conn: Any, start: int, end: int, resolution: int) -> list[rollup_rules.Segment]:
        """Which resolution serves which times of a read (rollup_rules.read_plan)."""
        return rollup_rules.read_plan(start, end, resolution, rollup_store.watermarks(conn))

    @staticmethod
    def _counter_series(conn: Any, series_ids: list[int]) -> set[int]:
        """Which of these series are legacy counters (their metric's type is counter)."""
        return set(conn.execute(_COUNTER_SERIES, {"ids": series_ids}).scalars())

    @staticmethod
    def _counter_buckets(conn: Any, series_ids: list[int], start: int, end: int, resolution: int,
                         function: str) -> dict[int, list[tuple[int, float]]]:
        """Librato draws a counter as the deltas between its successive
        reported values (100, 200, 350, 400 draw as 100, 150, 50), a value
        below the one before starting a new run (its delta is the value
        itself); the deltas are then bucketed with `function`."""
        rows = conn.execute(
            select(points.c.series_id, points.c.time, points.c.value)
            .where(points.c.series_id.in_(series_ids), points.c.time >= start, points.c.time <= end)
            .order_by(points.c.series_id, points.c.time).limit(MAX_POINTS_PER_QUERY + 1)).all()
        if len(rows) > MAX_POINTS_PER_QUERY:
            raise errors.InvalidParams.one("duration", f"a counter's window may hold at most {MAX_POINTS_PER_QUERY} "
                                                       "samples: ask for a shorter one")
        buckets: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        previous: dict[int, float] = {}
        for row in rows:
            if row.series_id in previous:
                before = previous[row.series_id]
                delta = row.value - before if row.value >= before else row.value
                buckets[row.series_id][row.time - row.time % resolution].append(delta)
            previous[row.series_id] = row.value
        return {sid: [(t, float(summarise(vs, function))) for t, vs in sorted(by_bucket.items())]
                for sid, by_bucket in buckets.items()}

    def bucketed_by(
        self, series_ids: list[int], start: int, end: int, resolution: int, statistic: str, downsample: str,
        conn: Connection | None = None,
    ) -> dict[int, list[tuple[int, float]]]:
        """Per series, points in [start, end] in buckets: `downsample` (average,
        sum, min, max; count = how many samples) of each sample's `statistic`
        (its mean, sum, min, max or count) — a chart stream's
        downsample_function over its summary_function."""
        if not series_ids:
            return {}
        # A counter's samples are its deltas (one value each, whatever the statistic).
        return self._buckets(series_ids, start, end, resolution, _downsample_buckets_query(statistic, downsample),
                             downsample, rollup_rules.downsample_reading(statistic, downsample), conn)

    def metric_display(self, account_id: int, metric: str, conn: Connection | None = None) -> tuple[int | None, dict]:
        """A metric's period and attributes — Librato's defaults for the chart
        streams that draw it (display_units_short, display_min, color, …);
        (None, {}) for a metric without metadata."""
        return self.metric_displays(account_id, [metric], conn)[metric]

    def metric_displays(self, account_id: int, names: Sequence[str],
                        conn: Connection | None = None) -> dict[str, tuple[int | None, dict]]:
        """metric_display of each of `names`, in one statement."""
        with self._connection(conn) as c:
            rows = c.execute(_METRIC_DISPLAYS, {"account_id": account_id,
                                                "names": sorted({n.lower() for n in names})}).all()
        found = {name: (period, attributes) for name, period, attributes in rows}
        out = {}
        for name in names:
            period, attributes = found.get(name.lower(), (None, None))
            out[name] = (period, dict(attributes or {}))
        return out

    def query(
        self, account_id: int, metric: str, start: int, end: int, resolution: int,
        tag_patterns: dict[str, str], group_by: str = "", group_function: str = "average",
        summary_function: str = "average", origin: str = ORIGIN_AUTO,
    ) -> list[SeriesData]:
        matched = self.matching_series(account_id, metric, [(k, [v]) for k, v in tag_patterns.items()], origin)
        if not matched:
            raise errors.NotFound(f"no measurements named {metric!r} match")
        matched = matched[:MAX_SERIES_PER_QUERY]
        if len(matched) * ((end - start) // resolution + 1) > MAX_POINTS_PER_QUERY:
            raise errors.InvalidParams.one(
                "resolution", f"too fine for {len(matched)} series over this window: at most "
                              f"{MAX_POINTS_PER_QUERY} points per query")
        data = self.bucketed([sid for sid, _ in matched], start, end, resolution, summary_function)
        if not group_by:
            return [SeriesData(tags, data.get(sid, [])) for sid, tags in matched]
        groups: dict[tuple, list[int]] = defaultdict(list)
        for sid, tags in matched:
            key = () if group_by == "*" else ((group_by, tags.get(group_by, "")),)
            groups[key].append(sid)
        return [
            SeriesData(dict(key), combine([data.get(sid, []) for sid in sids], group_function))
            for key, sids in groups.items()
        ]

