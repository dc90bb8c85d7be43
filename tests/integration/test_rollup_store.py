"""Rollups on each engine (SQLite and PostgreSQL): whatever order samples
arrive in — late, out of order, summaries, re-sent as they were or changed —
every read through the rollups (minutes, hours, days) gives the raw points'
numbers, for every summary and downsample function and every resolution
boundary; the rollup rows are always the fold of their points; retention
deletes in bounded steps and reads past a resolution's retention take the
next coarser one.

Values are multiples of 1/16 of bounded size (summary counts powers of two),
so every sum is exact in binary floating point whatever the order of
addition: a read must then equal the raw computation exactly, not nearly."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from typing import Iterator

import pytest
from sqlalchemy import Engine, event, func, select

from snapshot_svc import rollup_rules as rules
from snapshot_svc import rollup_store
from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.measurements import MeasurementStore, validate_run, validate_samples
from snapshot_svc.tables import points, retention_marks, rollup_days, rollup_hours, rollup_minutes
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(300)]

BASE = 1_699_990_000  # not on any hour (nor day): the first bucket is ragged
SPAN = 4 * 86_400 + 1234  # three whole days inside
NOW = BASE + SPAN + 60
SUMMARIES = ("average", "sum", "min", "max", "count")
DOWNSAMPLES = ("average", "sum", "min", "max", "count")
RESOLUTIONS = (1, 7, 60, 180, 3600, 8640, 10800, 86400, 108_000, 172_800)
TABLES = {rules.MINUTE: rollup_minutes, rules.HOUR: rollup_hours, rules.DAY: rollup_days}
ROLLUP_TABLES = tuple(table.name for table in TABLES.values())


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


def _dyadic(rng: random.Random, most: int = 4000) -> float:
    return rng.randint(-most, most) / 16


def _sample(rng: random.Random, host: str, when: int) -> dict:
    tags = {"has_tags": True, "tags": {"host": host}}
    if rng.random() < 0.7:
        return {"name": "lat", "value": _dyadic(rng), "time": when, **tags}
    count = rng.choice((2, 4, 8))
    mean = _dyadic(rng)
    return {"name": "lat", "count": count, "sum": mean * count, "min": mean - rng.randint(0, 64) / 16,
            "max": mean + rng.randint(0, 64) / 16, "last": _dyadic(rng), "time": when, **tags}


def _submit(store: MeasurementStore, account: int, raws: list[dict], now: int = NOW) -> None:
    good, bad = validate_samples(raws, {}, None, now)
    assert bad == {}
    store.submit(account, good)


def _shuffled_batches(rng: random.Random, samples: int) -> list[list[dict]]:
    """Samples of three series in batches of every size, the batches in a random order."""
    raws = [_sample(rng, rng.choice(("a", "b", "c")), BASE + rng.randrange(SPAN)) for _ in range(samples)]
    batches, i = [], 0
    while i < len(raws):
        size = rng.choice((1, 2, 5, 50, 300))
        batches.append(raws[i:i + size])
        i += size
    rng.shuffle(batches)
    return batches


def _write_shuffled(store: MeasurementStore, account: int, rng: random.Random, samples: int) -> None:
    """Samples of three series in batches of every size, the batches in a
    random order (late and out-of-order samples), some re-sent unchanged,
    some re-sent changed (the newest of a second wins, as on the raw path)."""
    batches = _shuffled_batches(rng, samples)
    for batch in batches:
        _submit(store, account, batch)
        if rng.random() < 0.2:  # re-sent as it was
            _submit(store, account, batch)
        if rng.random() < 0.2:  # a few of its seconds sent again with other values
            _submit(store, account, [_sample(rng, m["tags"]["host"], m["time"]) for m in batch[:3]])


def _raw_points(engine: Engine) -> dict[int, list]:
    with engine.connect() as conn:
        rows = conn.execute(select(points).order_by(points.c.series_id, points.c.time)).all()
    by_series: dict[int, list] = defaultdict(list)
    for r in rows:
        by_series[r.series_id].append(r)
    return by_series


def _aggregate(values: list[float], function: str) -> float:
    if function == "sum":
        return float(sum(values))
    if function == "min":
        return float(min(values))
    if function == "max":
        return float(max(values))
    if function == "count":
        return float(len(values))
    return sum(values) / len(values)


def _expected(rows: list, start: int, end: int, resolution: int, summary: str,
              downsample: str | None) -> list[tuple[int, float]]:
    """What the raw query computes (MeasurementStore._buckets over points), in Python."""
    buckets: dict[int, list] = defaultdict(list)
    for r in rows:
        if start <= r.time <= end:
            buckets[r.time - r.time % resolution].append(r)
    out = []
    for t, rs in sorted(buckets.items()):
        if downsample is None:
            if summary in ("sum", "min", "max"):
                value = _aggregate([getattr(r, summary) for r in rs], summary)
            elif summary == "count":
                value = float(sum(r.count for r in rs))
            else:
                value = sum(r.sum for r in rs) / sum(r.count for r in rs)
        else:
            column = summary if summary in ("sum", "min", "max", "count") else "value"
            value = _aggregate([float(getattr(r, column)) for r in rs], downsample)
        out.append((t, value))
    return out


def _windows(rng: random.Random) -> list[tuple[int, int]]:
    hour, day = rules.ceil_to(BASE, 3600), rules.ceil_to(BASE, 86_400)
    return [
        (BASE, BASE + SPAN),                       # everything, ragged both ends
        (hour, hour + 86_400 - 1),                 # exactly a day of whole hours, off the day grid
        (day, day + 2 * 86_400 - 1),               # exactly two whole days
        (day - 3600 - 61, day + 2 * 86_400 + 3600 + 59),  # whole days, whole hours and minutes at the edges
        (day + 5, day + 3 * 86_400 - 5),           # ragged seconds both sides of whole days
        (hour + 61, hour + 3 * 3600 + 59),         # whole minutes inside, ragged seconds at the edges
        (hour + 30, hour + 50),                    # inside one minute
        *[(s, s + rng.randrange(1, SPAN)) for s in (BASE + rng.randrange(SPAN // 2) for _ in range(2))],
    ]


def _rollups_are_the_fold_of_their_points(engine: Engine) -> None:
    by_series = _raw_points(engine)
    for level, table in TABLES.items():
        expected = {}
        for sid, rows in by_series.items():
            groups: dict[int, list] = defaultdict(list)
            for r in rows:
                groups[rules.floor_to(r.time, level)].append(r)
            for start, rs in groups.items():
                expected[(sid, start)] = rules.folded(rollup_store._fields(r) for r in rs)  # noqa: SLF001
        with engine.connect() as conn:
            found = {(r.series_id, r.bucket_start): {f: getattr(r, f) for f in rules.FIELDS}
                     for r in conn.execute(select(table))}
        assert found.keys() == expected.keys()
        for key, fields in expected.items():
            assert {f: float(v) for f, v in found[key].items()} == {f: float(v) for f, v in fields.items()}, key


@pytest.mark.parametrize("seed", [1])
def test_every_function_at_every_resolution_reads_the_raw_numbers(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    _write_shuffled(store, account, rng, 1500)
    _rollups_are_the_fold_of_their_points(engine)
    by_series = _raw_points(engine)
    ids = sorted(by_series)
    used = set()  # the levels the plans read
    for start, end in _windows(rng):
        for resolution in RESOLUTIONS:
            used |= {segment.level for segment in rules.read_plan(start, end, resolution, {})}
            for summary in SUMMARIES:
                got = store.bucketed(ids, start, end, resolution, summary)
                for sid in ids:
                    want = _expected(by_series[sid], start, end, resolution, summary, None)
                    assert got.get(sid, []) == want, (start, end, resolution, summary, sid)
                for downsample in DOWNSAMPLES:
                    got = store.bucketed_by(ids, start, end, resolution, summary, downsample)
                    for sid in ids:
                        want = _expected(by_series[sid], start, end, resolution, summary, downsample)
                        assert got.get(sid, []) == want, (start, end, resolution, summary, downsample, sid)
    assert used == set(rules.LEVELS)  # every rollup was read, not only the raw points


def test_any_float_reads_as_the_raw_numbers_up_to_rounding(engine: Engine) -> None:
    """With arbitrary floats sums depend on the order of addition: equal to
    the last bits, never an average of averages."""
    rng = random.Random(7)
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    raws = [{"name": "x", "value": rng.uniform(-1e6, 1e6), "time": BASE + rng.randrange(SPAN)} for _ in range(2000)]
    for i in range(0, len(raws), 250):
        _submit(store, account, raws[i:i + 250])
    sid = store.matching_series(account, "x", [])[0][0]
    rows = _raw_points(engine)[sid]
    for function in SUMMARIES:
        got = store.bucketed([sid], BASE + 17, BASE + SPAN - 17, 7200, function)[sid]
        want = _expected(rows, BASE + 17, BASE + SPAN - 17, 7200, function, None)
        assert [t for t, _ in got] == [t for t, _ in want]
        assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-12, abs=1e-6)


@pytest.mark.parametrize("days, start", [(1, rules.ceil_to(BASE, 3600)),
                                         (2, rules.ceil_to(BASE, 86_400) - 3600)])  # across midnight
def test_a_batch_touches_one_rollup_row_per_series_minute_hour_and_day(engine: Engine, days: int,
                                                                        start: int) -> None:
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    _submit(store, account, [{"name": "q", "value": float(i % 7), "time": start + 10 * i} for i in range(1000)])
    with engine.connect() as conn:
        counts = [conn.execute(select(func.count()).select_from(table)).scalar() for table in TABLES.values()]
        first = conn.execute(select(rollup_minutes).order_by(rollup_minutes.c.bucket_start)).first()
    assert counts == [167, 3, days]  # 10,000 s of 10-second samples
    assert (first.point_count, first.count, first.sum, first.min, first.max) == (6, 6, 15.0, 0.0, 5.0)
    assert (first.last, first.last_time) == (5.0, start + 50)


def test_last_is_the_latest_samples_whatever_the_order_of_arrival(engine: Engine) -> None:
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    start = rules.ceil_to(BASE, 3600)
    for when, value in ((start + 50, 5.0), (start + 10, 1.0), (start + 59, 9.0), (start + 30, 3.0)):
        _submit(store, account, [{"name": "q", "value": value, "time": when}])
    _submit(store, account, [{"name": "q", "value": 7.0, "time": start + 59}])  # the latest, changed
    with engine.connect() as conn:
        rows = [conn.execute(select(table)).one() for table in TABLES.values()]  # its minute, hour and day
    for row in rows:  # recomputed: the replaced 9.0 is gone from every level
        assert (row.last, row.last_time, row.point_count, row.sum, row.max) == (7.0, start + 59, 4, 16.0, 7.0)


def test_late_out_of_order_and_replaced_samples_across_a_day_boundary_keep_each_day_exact(engine: Engine) -> None:
    """Samples either side of midnight arrive newest first, in batches that
    straddle it; then late ones for the day before, and a replaced point in
    each day (its minute, hour and day recomputed)."""
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    rng = random.Random(21)
    midnight = rules.ceil_to(BASE, 86_400) + 86_400
    times = [midnight + d for d in (-86_400 + 3, -3601, -61, -1, 0, 1, 59, 3600, 86_399)]
    newest_first = times[::-1]
    batches = [[_sample(rng, "a", t) for t in newest_first[i:i + 2]] for i in range(0, len(times), 2)]
    assert [midnight, midnight - 1] in [[m["time"] for m in batch] for batch in batches]  # one straddles it
    for batch in batches:  # the newest first: each later batch is late
        _submit(store, account, batch)
    _submit(store, account, [_sample(rng, "a", midnight - 86_400 + 7)])  # late, for the day before
    _submit(store, account, [_sample(rng, "a", t) for t in (midnight - 1, midnight + 1)])  # replaced, both days
    _rollups_are_the_fold_of_their_points(engine)
    rows = _raw_points(engine)
    sid = next(iter(rows))
    with engine.connect() as conn:
        days = conn.execute(select(rollup_days).order_by(rollup_days.c.bucket_start)).all()
    assert [(d.bucket_start, d.point_count, d.last_time) for d in days] == [
        (midnight - 86_400, 5, midnight - 1), (midnight, 5, midnight + 86_399)]
    for start, end in ((midnight - 86_400, midnight + 86_399), (midnight - 5, midnight + 86_400 + 5)):
        for resolution in (3600, 86_400, 172_800):
            for summary in SUMMARIES:
                assert store.bucketed([sid], start, end, resolution, summary)[sid] == _expected(
                    rows[sid], start, end, resolution, summary, None), (start, end, resolution, summary)


# -- retention ------------------------------------------------------------------------------------

def test_retention_deletes_in_bounded_steps_and_reads_take_the_next_resolution(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollup_store, "ROWS_PER_DELETE", 100)
    retention = rules.Retention(raw=86_400, minutes=3 * 86_400, hours=10 * 86_400, days=12 * 86_400)
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine, retention)
    now = rules.ceil_to(BASE, 3600) + 20 * 86_400
    # One sample every 10 minutes over the last 15 days, and 7 s past each hour.
    times = sorted({t for h in range(15 * 24) for t in (now - 3600 * (h + 1) + 600 * k for k in range(6))}
                   | {now - 3600 * (h + 1) + 7 for h in range(15 * 24)})
    for i in range(0, len(times), 500):
        _submit(store, account, [{"name": "q", "value": float(t % 97), "time": t} for t in times[i:i + 500]], now)
    sid = store.matching_series(account, "q", [])[0][0]
    before = {r: dict(store.bucketed([sid], now - 15 * 86_400, now, r, "average")[sid]) for r in (60, 3600, 86_400)}

    steps, deleted = 0, []
    while True:
        gone = store.expire_once(now)
        steps += 1
        deleted.append(gone)
        if gone == 0 and steps > 1:
            break
        assert steps < 100
    assert max(deleted) <= len(TABLES) * 100 + 100  # each DELETE bounded (the points and each rollup a step)
    marks = {level: retention.watermark(level, now) for level in rules.LEVEL_NAMES}
    assert marks[rules.DAY] < marks[rules.HOUR] < now - 10 * 86_400  # the days outlive the hours here
    with engine.connect() as conn:
        assert conn.execute(select(func.min(points.c.time))).scalar() >= marks[rules.RAW]
        for level, table in TABLES.items():
            assert conn.execute(select(func.min(table.c.bucket_start))).scalar() >= marks[level], level
        assert conn.execute(select(func.min(rollup_days.c.bucket_start))).scalar() < marks[rules.HOUR]
        assert {r.level: r.expired_before for r in conn.execute(select(retention_marks))} == {
            rules.LEVEL_NAMES[level]: mark for level, mark in marks.items()}

    # Per-second buckets past the raw retention come from the minutes (at the
    # minute's start), past the minutes' from the hours, past the hours' from
    # the days; recent ones are raw; nothing before the days' mark.
    raw_from, minutes_from, hours_from = marks[rules.RAW], marks[rules.MINUTE], marks[rules.HOUR]
    got = dict(store.bucketed([sid], now - 15 * 86_400, now, 1, "average")[sid])
    assert min(got) == marks[rules.DAY]
    assert {t for t in got if t < hours_from} == set(range(marks[rules.DAY], hours_from, 86_400))
    assert {t for t in got if hours_from <= t < minutes_from} <= {t for t in got if t % 3600 == 0}
    assert {t for t in got if minutes_from <= t < raw_from} <= {t for t in got if t % 60 == 0}
    assert any(t % 60 == 7 for t in got if t >= raw_from)
    # Whole-hour buckets within the hours' retention are unchanged: the hour
    # rollups hold them; before it each day is one bucket, the day's.
    hourly = dict(store.bucketed([sid], now - 15 * 86_400, now, 3600, "average")[sid])
    assert {t: v for t, v in hourly.items() if t >= hours_from} == {
        t: v for t, v in before[3600].items() if t >= hours_from}
    assert {t: v for t, v in hourly.items() if t < hours_from} == {
        t: v for t, v in before[86_400].items() if marks[rules.DAY] <= t < hours_from}
    # Day and minute buckets within their retention are unchanged too.
    daily = dict(store.bucketed([sid], now - 15 * 86_400, now, 86_400, "average")[sid])
    assert daily == {t: v for t, v in before[86_400].items() if t >= marks[rules.DAY]}
    by_minute = dict(store.bucketed([sid], now - 15 * 86_400, now, 60, "average")[sid])
    assert {t: v for t, v in by_minute.items() if t >= minutes_from} == {
        t: v for t, v in before[60].items() if t >= minutes_from}


def test_writers_racing_on_one_series_leave_rollups_that_fold_their_points(database_url: str) -> None:
    """Two replicas (two engines) writing the same series' seconds at once,
    each replacing the other's points: the series lock makes them take turns."""
    engines = [migrated_engine(database_url)]
    engines.append(make_engine(database_url))
    try:
        account = AccountStore(engines[0]).create("owner@example.com", "Owner")[0].id
        stores = [MeasurementStore(e) for e in engines]
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def write(i: int) -> None:
            rng = random.Random(100 + i)
            try:
                start.wait(timeout=30)
                for _ in range(30):
                    _submit(stores[i], account, [_sample(rng, "a", BASE + rng.randrange(600)) for _ in range(40)])
            except BaseException as exc:  # noqa: BLE001 - the test reports it
                failures.append(exc)
        threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert failures == []
        _rollups_are_the_fold_of_their_points(engines[0])
    finally:
        for e in engines:
            e.dispose()


def test_every_statement_of_writes_reads_and_retention_finds_rows_by_an_index(engine: Engine) -> None:
    """No statement of the rollups scans a whole table of points or rollups
    (SQLite scans one for a row-value IN; PostgreSQL, told to avoid
    sequential scans, still takes one when no index serves the query)."""
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine, rules.Retention(raw=86_400, minutes=2 * 86_400, hours=3 * 86_400,
                                                     days=4 * 86_400))
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001 - SQLAlchemy's hook
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "DELETE")) and any(
                name in statement for name in ("points", *ROLLUP_TABLES)):
            seen.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", capture)
    try:
        rng = random.Random(4)
        for _ in range(3):  # new points, then the same seconds changed (recomputed minutes, hours and days)
            _submit(store, account, [_sample(rng, h, BASE + 10 * k) for h in ("a", "b") for k in range(200)])
        ids = [sid for sid, _ in store.matching_series(account, "lat", [])]
        store.bucketed(ids, BASE + 17, BASE + 86_400, 3600, "average")
        store.bucketed_by(ids, BASE + 17, BASE + 86_400, 120, "max", "average")
        store.bucketed(ids, BASE + 17, BASE + 3 * 86_400, 172_800, "max")
        store.expire_once(BASE + 6 * 86_400)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statements = {s for s, _ in seen}
    assert len(statements) >= 6
    for table in ROLLUP_TABLES:  # each rollup read, recomputed from (but the days) and expired
        assert sum(table in s for s in statements) >= (3 if table == "rollup_days" else 4), table
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in seen:
            plan = "\n".join(str(r[-1] if not postgres else r[0])
                             for r in conn.exec_driver_sql(
                                 ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, parameters))
            for table in ("points", *ROLLUP_TABLES):
                assert f"Seq Scan on {table}" not in plan and f"SCAN {table}" not in plan, (statement, plan)
        conn.rollback()


def _write_as_runs(store: MeasurementStore, account: int, rng: random.Random, samples: int) -> None:
    """_write_shuffled's samples as the gateway carries most of them: each
    batch's plain values as one run per series (validate_run: in time order,
    out of order, a second twice), its summaries as Samples beside them."""
    batches = _shuffled_batches(rng, samples)
    for n, batch in enumerate(batches * 2):  # all of it twice: re-sent as it was
        if n >= len(batches) and rng.random() < 0.5:
            continue
        if rng.random() < 0.3:  # a few of its seconds again with other values, in the same batch
            batch = batch + [_sample(rng, m["tags"]["host"], m["time"]) for m in batch[:3]]
        plain: dict[str, list[dict]] = defaultdict(list)
        for m in batch:
            if "value" in m:
                plain[m["tags"]["host"]].append(m)
        if rng.random() < 0.5:  # in time order, as an agent sends them
            plain = {host: sorted(ms, key=lambda m: m["time"]) for host, ms in plain.items()}
        good, bad = validate_samples([m for m in batch if "value" not in m], {}, None, NOW)
        runs = []
        for host, ms in plain.items():
            run, fallback, refused = validate_run("lat", {"host": host}, True, [m["time"] for m in ms],
                                                  [m["value"] for m in ms], [f"p{k}" for k in range(len(ms))], {}, NOW)
            assert fallback == [] and refused == {} == bad
            runs.append(run)
        store.submit(account, good, runs)


def test_samples_stored_as_runs_keep_the_rollups_exact(engine: Engine) -> None:
    rng = random.Random(3)
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    _write_as_runs(store, account, rng, 1500)
    _rollups_are_the_fold_of_their_points(engine)
    by_series = _raw_points(engine)
    assert len(by_series) == 3 and sum(map(len, by_series.values())) > 1000
    ids = sorted(by_series)
    start, end = BASE, BASE + SPAN
    for resolution in (60, 3600, 10800, 86_400):
        for summary in SUMMARIES:
            got = store.bucketed(ids, start, end, resolution, summary)
            for sid in ids:
                assert got.get(sid, []) == _expected(by_series[sid], start, end, resolution, summary, None)


def test_a_run_and_samples_of_one_second_keep_the_later(engine: Engine) -> None:
    """Within one submit a run's samples come after the Samples (as the
    request's columns after its measurements): the run's value of a second wins."""
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    good, _ = validate_samples([{"name": "lat", "value": 1.0, "time": BASE, "has_tags": True, "tags": {"host": "a"}}],
                               {}, None, NOW)
    run, _, _ = validate_run("LAT", {"HOST": "a"}, True, [BASE + 1, BASE, BASE + 1], [2.0, 3.0, 4.0],
                             ["p0", "p1", "p2"], {}, NOW)
    assert store.submit(account, good, [run]) == 4
    rows = next(iter(_raw_points(engine).values()))
    assert [(r.time, r.value) for r in rows] == [(BASE, 3.0), (BASE + 1, 4.0)]
    _rollups_are_the_fold_of_their_points(engine)


def test_two_runs_of_one_series_in_one_submit_are_one_series_in_time_order(engine: Engine) -> None:
    account = AccountStore(engine).create("owner@example.com", "Owner")[0].id
    store = MeasurementStore(engine)
    first, _, _ = validate_run("lat", {"host": "a"}, True, [BASE + 5, BASE + 70], [1.0, 2.0], ["p0", "p1"], {}, NOW)
    second, _, _ = validate_run("Lat", {"host": "A"}, True, [BASE + 6, BASE + 70], [3.0, 4.0], ["p2", "p3"], {}, NOW)
    assert store.submit(account, [], [first, second]) == 4
    rows = next(iter(_raw_points(engine).values()))
    assert [(r.time, r.value) for r in rows] == [(BASE + 5, 1.0), (BASE + 6, 3.0), (BASE + 70, 4.0)]
    _rollups_are_the_fold_of_their_points(engine)
