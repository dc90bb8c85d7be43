"""Migration 0006 on each engine: points written before it (revision 0005,
out of order, summaries, several series) are rolled up by the upgrade into
exactly the rows the write path keeps — each rollup row is the fold of its
points — and reads through them give the raw numbers."""

from __future__ import annotations

import random
from typing import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from snapshot_svc import rollup_rules as rules
from snapshot_svc import rollup_store, schema
from snapshot_svc.database import make_engine
from snapshot_svc.measurements import MeasurementStore, canonical_tags, tags_digest
from snapshot_svc.tables import accounts, points, rollup_hours, rollup_minutes, series

pytestmark = [pytest.mark.timeout(180)]

BEFORE = "0005"


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


def test_the_upgrade_rolls_up_the_existing_points(engine: Engine) -> None:
    schema.upgrade(engine, BEFORE)
    rng = random.Random(6)
    ids = [1, 2, 3, 600, 1201]  # more than one backfill range of series
    with engine.begin() as conn:
        conn.execute(insert(accounts), [{"id": 1, "email": "old@example.com", "full_name": "Old",
                                         "token_sha256": "a" * 64, "created_at": 0.0}])
        conn.execute(insert(series), [{"id": sid, "account_id": 1, "metric": "cpu",
                                       "tags": canonical_tags({"n": str(sid)}),
                                       "tags_sha256": tags_digest(canonical_tags({"n": str(sid)}))} for sid in ids])
        conn.execute(insert(points), _old_points(rng, ids))
    assert schema.upgrade(engine) == (BEFORE, schema.head())

    with engine.connect() as conn:
        raw = conn.execute(select(points).order_by(points.c.series_id, points.c.time)).all()
        for level, table in ((rules.MINUTE, rollup_minutes), (rules.HOUR, rollup_hours)):
            expected: dict[tuple[int, int], list] = {}
            for r in raw:
                expected.setdefault((r.series_id, rules.floor_to(r.time, level)), []).append(r)
            found = {(r.series_id, r.bucket_start): r for r in conn.execute(select(table))}
            assert found.keys() == expected.keys()
            for key, rs in expected.items():
                want = rules.folded(rollup_store._fields(r) for r in rs)  # noqa: SLF001
                assert {f: float(getattr(found[key], f)) for f in rules.FIELDS} == {
                    f: float(v) for f, v in want.items()}, (level, key)

    # A read through the rollups and a later write into them agree with the points.
    store = MeasurementStore(engine)
    start, end = 1_700_000_000 + 1800 + 13, 1_700_000_000 + 2 * 86_400 - 5
    by_hour = store.bucketed(ids, start, end, 3600, "average")
    for sid in ids:
        buckets: dict[int, list] = {}
        for r in raw:
            if r.series_id == sid and start <= r.time <= end:
                buckets.setdefault(r.time - r.time % 3600, []).append(r)
        assert by_hour.get(sid, []) == [(t, sum(r.sum for r in rs) / sum(r.count for r in rs))
                                        for t, rs in sorted(buckets.items())]
