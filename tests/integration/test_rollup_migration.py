"""Migrations 0006 and 0007 on each engine: points written before them
(revision 0005, out of order, summaries, several series) are rolled up by the
upgrade into exactly the rows the write path keeps — each minute, hour and
day row is the fold of its points — and reads through them give the raw
numbers. 0007 on a database whose retention already deleted old hours: each
day is the fold of the hours kept, the hours' watermark moves to the next
midnight, and reads give what the hours gave."""

from __future__ import annotations

import random
from typing import Iterator

import pytest
from sqlalchemy import Engine, delete, insert, select

from snapshot_svc import rollup_rules as rules
from snapshot_svc import rollup_store, schema
from snapshot_svc.database import make_engine
from snapshot_svc.measurements import MeasurementStore, canonical_tags, tags_digest
from snapshot_svc.tables import accounts, points, retention_marks, rollup_days, rollup_hours, rollup_minutes, series

pytestmark = [pytest.mark.timeout(180)]

BEFORE = "0005"
TABLES = {rules.MINUTE: rollup_minutes, rules.HOUR: rollup_hours, rules.DAY: rollup_days}
IDS = [1, 2, 3, 600, 1201]  # more than one backfill range of series


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _old_points(rng: random.Random, series_ids: list[int]) -> list[dict]:
    rows = {}
    for _ in range(3000):
        sid, t = rng.choice(series_ids), 1_700_000_000 + rng.randrange(3 * 86_400)
        count = rng.choice((1, 1, 2, 4))
        mean = rng.randint(-800, 800) / 16
        lo, hi = mean - rng.randint(0, 32) / 16, mean + rng.randint(0, 32) / 16
        if count == 1:
            lo = hi = mean
        rows[(sid, t)] = {"series_id": sid, "time": t, "value": mean, "count": count, "sum": mean * count,
                          "min": lo, "max": hi, "last": rng.randint(-800, 800) / 16 if count > 1 else mean,
                          "stddev": None}
    out = list(rows.values())
    rng.shuffle(out)  # written in no particular order
    return out


def _old_database(engine: Engine, revision: str = BEFORE) -> None:
    """Points of IDS written at 0005, the database then migrated to `revision`."""
    schema.upgrade(engine, BEFORE)
    rng = random.Random(6)
    ids = IDS
    with engine.begin() as conn:
        conn.execute(insert(accounts), [{"id": 1, "email": "old@example.com", "full_name": "Old",
                                         "token_sha256": "a" * 64, "created_at": 0.0}])
        conn.execute(insert(series), [{"id": sid, "account_id": 1, "metric": "cpu",
                                       "tags": canonical_tags({"n": str(sid)}),
                                       "tags_sha256": tags_digest(canonical_tags({"n": str(sid)}))} for sid in ids])
        conn.execute(insert(points), _old_points(rng, ids))
    if revision != BEFORE:
        assert schema.upgrade(engine, revision) == (BEFORE, revision)


def _expected(raw: list, sid: int, start: int, end: int, resolution: int) -> list[tuple[int, float]]:
    buckets: dict[int, list] = {}
    for r in raw:
        if r.series_id == sid and start <= r.time <= end:
            buckets.setdefault(r.time - r.time % resolution, []).append(r)
    return [(t, sum(r.sum for r in rs) / sum(r.count for r in rs)) for t, rs in sorted(buckets.items())]


def test_the_upgrade_rolls_up_the_existing_points(engine: Engine) -> None:
    _old_database(engine)
    ids = IDS
    assert schema.upgrade(engine) == (BEFORE, schema.head())

    with engine.connect() as conn:
        raw = conn.execute(select(points).order_by(points.c.series_id, points.c.time)).all()
        for level, table in TABLES.items():
            expected: dict[tuple[int, int], list] = {}
            for r in raw:
                expected.setdefault((r.series_id, rules.floor_to(r.time, level)), []).append(r)
            found = {(r.series_id, r.bucket_start): r for r in conn.execute(select(table))}
            assert found.keys() == expected.keys()
            for key, rs in expected.items():
                want = rules.folded(rollup_store._fields(r) for r in rs)  # noqa: SLF001
                assert {f: float(getattr(found[key], f)) for f in rules.FIELDS} == {
                    f: float(v) for f, v in want.items()}, (level, key)

    # Reads through the rollups (hours, days) agree with the points.
    store = MeasurementStore(engine)
    start, end = 1_700_000_000 + 1800 + 13, 1_700_000_000 + 3 * 86_400 - 5
    for resolution in (3600, 86_400, 172_800):
        got = store.bucketed(ids, start, end, resolution, "average")
        assert any(s.level == min(resolution, rules.DAY) for s in rules.read_plan(start, end, resolution, {}))
        for sid in ids:
            assert got.get(sid, []) == _expected(raw, sid, start, end, resolution), (resolution, sid)


def test_the_days_take_over_from_the_hours_retention_already_deleted(engine: Engine) -> None:
    """At 0006 retention had moved every watermark to an hour that is not
    midnight (every resolution kept as long, as the settings allow) and
    deleted what was before it; 0007's days hold exactly the hours kept."""
    _old_database(engine, "0006")
    mark = 1_700_000_000 - 1_700_000_000 % 86_400 + 86_400 + 5 * 3600  # 05:00 of the data's second day
    with engine.begin() as conn:
        conn.execute(insert(retention_marks), [{"level": name, "expired_before": mark}
                                               for name in ("raw", "minute", "hour")])
        conn.execute(delete(rollup_minutes).where(rollup_minutes.c.bucket_start < mark))
        conn.execute(delete(rollup_hours).where(rollup_hours.c.bucket_start < mark))
        conn.execute(delete(points).where(points.c.time < mark - 3600))  # the sweep not through yet
        hours = conn.execute(select(rollup_hours)).all()
        raw = conn.execute(select(points).where(points.c.time >= mark)).all()
    assert schema.upgrade(engine) == ("0006", schema.head())

    midnight = rules.ceil_to(mark, rules.DAY)
    expected: dict[tuple[int, int], list] = {}
    for h in hours:
        expected.setdefault((h.series_id, rules.floor_to(h.bucket_start, rules.DAY)), []).append(h)
    with engine.connect() as conn:
        found = {(r.series_id, r.bucket_start): {f: float(getattr(r, f)) for f in rules.FIELDS}
                 for r in conn.execute(select(rollup_days))}
        marks = {r.level: r.expired_before for r in conn.execute(select(retention_marks))}
    assert marks == {"raw": midnight, "minute": midnight, "hour": midnight}
    assert found.keys() == expected.keys() and min(start for _, start in found) == midnight - rules.DAY
    for key, hs in expected.items():
        assert found[key] == {f: float(v) for f, v in rules.folded(
            {f: getattr(h, f) for f in rules.FIELDS} for h in hs).items()}, key

    # The hours kept before midnight read as one bucket, the day's; after it as before.
    store = MeasurementStore(engine)
    start, end = mark - 7200, 1_700_000_000 + 3 * 86_400
    for resolution in (3600, 86_400):
        got = store.bucketed(IDS, start, end, resolution, "average")
        for sid in IDS:
            early = [r for r in raw if r.series_id == sid and r.time < midnight]
            want = _expected(raw, sid, midnight, end, resolution)
            if early:
                want = [(midnight - rules.DAY, sum(r.sum for r in early) / sum(r.count for r in early)), *want]
            assert got.get(sid, []) == want, (resolution, sid)
