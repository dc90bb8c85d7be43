"""The rollup rules without a database: a read plan covers its window
exactly once, each segment on its resolution's grid inside whole requested
buckets; rows fold in any order; each reading is the function over the
points; each watermark sits on the grid of the next coarser resolution."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from snapshot_svc import rollup_rules as rules
from snapshot_svc.measurements import summarise

RESOLUTIONS = (1, 7, 59, 60, 90, 120, 180, 3600, 5400, 7200, 8640, 86400, 108_000, 172_800, 7 * 86_400)


def _covered(plan: list[rules.Segment]) -> list[tuple[int, int]]:
    spans = sorted((s.lo, s.hi) for s in plan)
    merged: list[list[int]] = []
    for lo, hi in spans:
        assert not merged or lo >= merged[-1][1], "segments overlap"
        if merged and lo == merged[-1][1]:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return [tuple(m) for m in merged]


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_a_plan_covers_the_window_once_in_whole_buckets_of_each_resolution(resolution: int) -> None:
    rng = random.Random(resolution)
    for _ in range(300):
        start = rng.randrange(10**9, 10**9 + 10**6)
        end = start + rng.choice((0, 1, 59, 60, 61, 3599, 3600, 7201, 86_399, 86_400, 2 * 86_400 + 1,
                                  rng.randrange(10**6), rng.randrange(10**8)))
        plan = rules.read_plan(start, end, resolution, {})
        assert _covered(plan) == [(start, end + 1)]
        for s in plan:
            assert s.lo % s.level == 0 and s.hi % s.level == 0
            assert s.level == rules.RAW or resolution % s.level == 0  # its buckets lie inside requested ones
        if resolution % 60:
            assert rules.only_raw(plan, start, end)


def test_the_coarsest_dividing_resolution_takes_the_inside_and_finer_ones_the_edges() -> None:
    hour = 3600 * 500_000
    plan = rules.read_plan(hour - 90, hour + 2 * 3600 + 70, 7200, {})
    assert plan == [rules.Segment(rules.RAW, hour - 90, hour - 60), rules.Segment(rules.MINUTE, hour - 60, hour),
                    rules.Segment(rules.HOUR, hour, hour + 7200),
                    rules.Segment(rules.MINUTE, hour + 7200, hour + 7260),
                    rules.Segment(rules.RAW, hour + 7260, hour + 7271)]
    # 8640 s (a 30-day chart's bucket) is whole minutes, not whole hours.
    assert {s.level for s in rules.read_plan(hour, hour + 30 * 86_400 - 1, 8640, {})} == {rules.MINUTE}
    # Two days (a year's bucket at 600 px): whole days inside, hours, minutes and seconds at the edges.
    day = 86_400 * 20_000
    plan = rules.read_plan(day - 3600 - 61, day + 3 * 86_400 + 3600 + 5, 2 * 86_400, {})
    assert plan == [rules.Segment(rules.RAW, day - 3661, day - 3660),
                    rules.Segment(rules.MINUTE, day - 3660, day - 3600),
                    rules.Segment(rules.HOUR, day - 3600, day), rules.Segment(rules.DAY, day, day + 3 * 86_400),
                    rules.Segment(rules.HOUR, day + 3 * 86_400, day + 3 * 86_400 + 3600),
                    rules.Segment(rules.RAW, day + 3 * 86_400 + 3600, day + 3 * 86_400 + 3606)]
    # 30 hours is not whole days: hour rows.
    assert rules.DAY not in {s.level for s in rules.read_plan(day, day + 365 * 86_400, 108_000, {})}


def test_an_expired_resolution_is_served_by_the_next_coarser_on_its_own_grid() -> None:
    hour = 3600 * 500_000
    marks = {rules.RAW: hour + 3 * 3600, rules.MINUTE: hour + 3600}
    plan = rules.read_plan(hour + 17, hour + 5 * 3600 + 5, 1, marks)
    assert plan == [rules.Segment(rules.HOUR, hour, hour + 3600),
                    rules.Segment(rules.MINUTE, hour + 3600, hour + 3 * 3600),
                    rules.Segment(rules.RAW, hour + 3 * 3600, hour + 5 * 3600 + 6)]
    # Before the hours' mark (on the day grid) the days serve, on their own grid.
    day = 86_400 * 20_000
    marks = {rules.RAW: day + 3 * 86_400, rules.MINUTE: day + 2 * 86_400, rules.HOUR: day + 86_400}
    plan = rules.read_plan(day + 17, day + 3 * 86_400 + 5, 1, marks)
    assert plan == [rules.Segment(rules.DAY, day, day + 86_400),
                    rules.Segment(rules.HOUR, day + 86_400, day + 2 * 86_400),
                    rules.Segment(rules.MINUTE, day + 2 * 86_400, day + 3 * 86_400),
                    rules.Segment(rules.RAW, day + 3 * 86_400, day + 3 * 86_400 + 6)]
    # Minutes kept as long as hours (equal marks): the days serve from that mark.
    marks = {rules.RAW: day + 86_400, rules.MINUTE: day + 86_400, rules.HOUR: day + 86_400}
    assert rules.read_plan(day + 17, day + 86_400 + 5, 7200, marks) == [
        rules.Segment(rules.DAY, day, day + 86_400), rules.Segment(rules.RAW, day + 86_400, day + 86_406)]
    # Everything before the days' mark is gone.
    assert rules.read_plan(day, day + 100, 60, {level: day + 86_400 for level in rules.LEVELS}) == []


@pytest.mark.parametrize("resolution", [1, 60, 3600, 7200, 86_400, 172_800])
def test_a_plan_reads_each_time_once_from_rows_kept_whatever_the_marks(resolution: int) -> None:
    """Watermarks anywhere (off their grid, as a replica from before day
    rollups wrote the hours' on the hour grid; absent; equal): each time of
    the window from the coarsest kept level's zone on is read exactly once,
    and never from rows before their own level's mark (deleted)."""
    rng = random.Random(resolution)
    day = 86_400 * 20_000
    for _ in range(400):
        now = day + rng.randrange(10 * 86_400)
        ages = sorted(rng.randrange(10 * 86_400) for _ in rules.LEVELS)  # finer ones kept shorter
        marks = {level: now - age for level, age in zip(rules.LEVELS, ages) if rng.random() < 0.8}
        start = day + rng.randrange(10 * 86_400)
        end = start + rng.randrange(4 * 86_400)
        plan = rules.read_plan(start, end, resolution, marks)
        for s in plan:
            assert s.lo % s.level == 0 and s.hi % s.level == 0
            assert s.lo >= marks.get(s.level, 0), (s, marks)  # its rows are kept
        covered = _covered(plan)  # (no segments overlap)
        kept_from = rules.ceil_to(marks.get(rules.DAY, 0), rules.DAY)
        lo = max(start, kept_from)
        if lo <= end:
            assert any(a <= lo and end + 1 <= b for a, b in covered), (start, end, marks, plan)
        else:
            assert plan == []  # all of it gone


def _points(rng: random.Random, n: int) -> list[dict]:
    out = []
    for t in rng.sample(range(10_000), n):
        count = rng.choice((1, 2, 4))
        mean = rng.randint(-99, 99) / 4
        lo, hi = (mean, mean) if count == 1 else (mean - rng.randint(0, 8) / 4, mean + rng.randint(0, 8) / 4)
        out.append(rules.point_fields(t, mean, count, mean * count, lo, hi, rng.randint(-9, 9) / 4))
    return out


def test_rows_fold_in_any_order_and_last_is_the_latest_points() -> None:
    rng = random.Random(3)
    pts = _points(rng, 40)
    first = rules.folded(pts)
    for _ in range(20):
        rng.shuffle(pts)
        halves = rules.merged(rules.folded(pts[:13]), rules.folded(pts[13:]))
        assert rules.folded(pts) == first == halves
    latest = max(pts, key=lambda p: p["last_time"])
    assert (first["last"], first["last_time"]) == (latest["last"], latest["last_time"])
    assert first["point_count"] == 40 and first["count"] == sum(p["count"] for p in pts)


@pytest.mark.parametrize("statistic, downsample", list(itertools.product(
    ("average", "sum", "min", "max", "count"), ("average", "sum", "min", "max", "count"))))
def test_each_reading_is_its_function_over_the_points(statistic: str, downsample: str) -> None:
    pts = _points(random.Random(5), 25)
    column = statistic if statistic != "average" else "value"
    values = [p[rules.FIELD_OF[(column, "sum")]] for p in pts]
    got = rules.downsample_reading(statistic, downsample).value(rules.folded(pts))
    assert got == summarise(values, downsample)


@pytest.mark.parametrize("function", ["average", "mean", "sum", "min", "max", "count"])
def test_a_summary_reading_is_the_natural_roll_up(function: str) -> None:
    pts = _points(random.Random(9), 25)
    folded = rules.folded(pts)
    want = {"sum": sum(p["sum"] for p in pts), "min": min(p["min"] for p in pts),
            "max": max(p["max"] for p in pts), "count": float(sum(p["count"] for p in pts))}.get(
        function, sum(p["sum"] for p in pts) / sum(p["count"] for p in pts))  # never an average of averages
    assert rules.summary_reading(function).value(folded) == want


@pytest.mark.parametrize("retention", [rules.Retention(), rules.Retention(raw=3600, minutes=3600, hours=86_400,
                                                                       days=86_400)])
def test_each_watermark_sits_on_the_next_coarser_grid_and_coarser_is_kept_longer(retention) -> None:
    rng = random.Random(12)
    for now in [1_764_700_000.5, *(rng.uniform(10**9, 2 * 10**9) for _ in range(200))]:
        marks = [retention.watermark(level, now) for level in rules.LEVELS]
        grids = [*rules.LEVELS[1:], rules.DAY]  # the next coarser resolution's bucket (the days' own)
        assert all(m % grid == 0 for m, grid in zip(marks, grids))
        assert marks == sorted(marks, reverse=True)  # a finer resolution expires later
        for level, mark, grid in zip(rules.LEVELS, marks, grids):
            assert now - retention.keep(level) - grid < mark <= now - retention.keep(level)
        # Equal marks (kept as long) sit on the grid of the coarsest of them: the next one takes over there.
        for i in range(len(marks) - 1):
            if marks[i] == marks[i + 1]:
                assert marks[i] % grids[i + 1] == 0
    default = rules.Retention()
    assert (default.raw, default.minutes, default.hours, default.days) == (
        7 * rules.DAY, 90 * rules.DAY, 3 * 365 * rules.DAY, 10 * 365 * rules.DAY)


def test_folding_a_batch_at_once_is_folding_its_points_one_by_one() -> None:
    rng = random.Random(11)
    pts = _points(rng, 30)
    pairs = [(p["last_time"], {"value": p["value_sum"], "count": p["count"], "sum": p["sum"], "min": p["min"],
                               "max": p["max"], "last": p["last"]}) for p in pts]
    assert rules.points_folded(pairs) == rules.folded(pts)


@pytest.mark.parametrize("width", rules.ROLLUPS)
def test_columns_fold_every_series_and_bucket_as_points_folded_does(width: int) -> None:
    rng = random.Random(width)
    points = sorted({(sid, rng.randrange(10_000, 30_000)): None for sid in (3, 7, 9) for _ in range(400)})
    stats = {c: [] for c in (*rules.COLUMNS, "last")}
    for _ in points:
        count = rng.choice((1, 2, 4))
        mean = rng.randint(-4000, 4000) / 16
        lo, hi = mean - rng.randint(0, 64) / 16, mean + rng.randint(0, 64) / 16
        for column, value in zip(stats, (mean, count, mean * count, lo, hi, rng.randint(-4000, 4000) / 16)):
            stats[column].append(value)
    got = rules.columns_folded([sid for sid, _ in points], [t for _, t in points], stats, width)
    by_bucket: dict[tuple[int, int], list] = {}
    for i, (sid, t) in enumerate(points):
        by_bucket.setdefault((sid, rules.floor_to(t, width)), []).append((t, {c: stats[c][i] for c in stats}))
    assert [(sid, start) for sid, start, _ in got] == sorted(by_bucket)
    for sid, start, fields in got:
        assert fields == rules.points_folded(by_bucket[(sid, start)]), (sid, start)
        assert all(type(fields[f]) is int for f in rules.INTEGER_FIELDS)
    assert rules.columns_folded([], [], {c: [] for c in stats}, width) == []
    # The same columns as arrays (converted once for every level) fold the same, to the same types.
    arrays = rules.as_arrays({"series_id": [sid for sid, _ in points], "time": [t for _, t in points], **stats})
    again = rules.columns_folded(arrays["series_id"], arrays["time"], arrays, width)
    assert again == got
    assert [type(v) for _, _, fields in again for v in fields.values()] == [
        type(v) for _, _, fields in got for v in fields.values()]


# -- resolution_for ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("duration, width, expected", [
    (3600, 600, 12),          # 300 columns of two pixels
    (60, 600, 1),             # never under a second
    (3601, 600, 13),          # rounds up
    (3600, 100, 120),         # at least 50 buckets' worth of divisor (72 s), then whole minutes
    (18_000, 600, 60),        # exactly a minute: unchanged
    (18_060, 600, 120),       # just over a minute (61 s): the worst case, half the buckets
    (86_400, 600, 300),       # a day: 288 s → 5 minutes
    (604_800, 600, 2040),     # 7 days: 2016 s → 34 minutes (not a whole hour: minute rows)
    (2_592_000, 600, 10_800),  # 30 days: 8640 s → 3 hours
    (2 * 86_400 * 300, 600, 172_800),  # exactly two days: unchanged
    (86_401 * 300, 600, 172_800),  # just over a day (86,401 s): the worst case, half the buckets
    (31_536_000, 600, 172_800),  # a year: 105,120 s → 2 days (183 buckets of 365 day rows)
    (31_622_400, 4000, 18_000),  # 15,812 s → 5 hours
    (31_622_400, 100, 691_200),  # 632,448 s → 8 days
])
def test_resolution_for(duration, width, expected):
    assert rules.resolution_for(duration, width) == expected
    columns = max(50, width // 2)
    # Never more buckets than the columns hold, never fewer than half of them (a second apart).
    assert duration / expected <= columns
    assert expected == 1 or duration / expected >= columns / 2


@pytest.mark.parametrize("duration", [59 * 300 + 1, 3600 * 300, 3600 * 300 + 1, 7 * 86_400, 90 * 86_400,
                                      86_400 * 300, 86_400 * 300 + 1, 2 * 86_400 * 300, 365 * 86_400,
                                      3 * 365 * 86_400])
@pytest.mark.parametrize("width", [100, 600, 4000])
def test_resolution_for_is_a_width_the_rollups_serve(duration, width):
    """Above a minute a whole number of minutes, above an hour of hours,
    above a day of days (rollup_rules.read_plan reads whole rollup buckets
    only where the width is their multiple), at least two thirds of the
    buckets the pixels ask for once they ask for two of the unit it is
    rounded to (two minutes, two hours, two days), half of them always."""
    bucket = rules.resolution_for(duration, width)
    for level in rules.ROLLUPS:
        assert bucket <= level or bucket % level == 0
    columns = max(50, width // 2)
    assert columns / 2 <= duration / bucket <= columns
    asked = math.ceil(duration / columns)
    unit = max((level for level in rules.ROLLUPS if level < asked), default=rules.RAW)
    if asked >= 2 * unit:
        assert duration / bucket >= columns * 2 / 3, (asked, unit, bucket)
