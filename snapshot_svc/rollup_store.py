"""Rollups in the database (the rules are snapshot_svc.rollup_rules): kept in
the transaction that writes the points, read by segments of a read plan, and
expired a bounded batch at a time.

Kept as samples arrive, not by a background step: a read is exact the moment
a write commits, nothing lags, and no coordinator decides which replica rolls
up what. The cost is one upsert per (series, minute), (series, hour) and
(series, day) a batch touches, the batch folded first (as columns, every
series at once, rollup_rules.columns_folded): a 1,000-sample batch of one
series' 10-second samples touches 167 minutes, 3 hours and 1 or 2 days. New
points fold (sums add, extremes keep, the latest time's `last` wins, so late
and out-of-order samples land right); a point that replaces a different one
at the same second (the raw path keeps the newest sample of a second) makes
its minute, hour and day be recomputed, the minute from its points, the hour
from its minutes, the day from its hours; a re-sent identical point changes
nothing."""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import BigInteger, Engine, Table, bindparam, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from snapshot_svc import rollup_rules as rules
from snapshot_svc.tables import points, retention_marks, rollup_days, rollup_hours, rollup_minutes, series

TABLES = {rules.MINUTE: rollup_minutes, rules.HOUR: rollup_hours, rules.DAY: rollup_days}
FINER = dict(zip(rules.ROLLUPS, rules.LEVELS))  # each rollup's level: the one it is recomputed from
POINT_STATS = ("value", "count", "sum", "min", "max", "last")
AGGREGATE = {"sum": func.sum, "min": func.min, "max": func.max}
SERIES_PER_EXPIRY = 200   # series one retention step looks at
ROWS_PER_DELETE = 5_000   # rows one retention DELETE removes at most (a short lock)


def executemany(conn: Any, key: tuple, build: Callable[[Any], Any], rows: list[dict]) -> None:
    """executemany_tuples of rows given as dicts (all of the same keys)."""
    if rows:
        columns = tuple(rows[0])
        executemany_tuples(conn, key, build, columns, list(map(operator.itemgetter(*columns), rows)))


def executemany_tuples(conn: Any, key: tuple, build: Callable[[Any], Any], columns: tuple[str, ...],
                       rows: list[tuple]) -> None:
    """The statement `build(dialect)` makes (an INSERT of `columns`) for
    every row (a tuple of those columns), as one DBAPI executemany of its SQL
    compiled once per process, dialect and columns (`key` names the
    statement), with positional parameters on every engine so the rows pass
    as they are: SQLAlchemy's own executemany builds and processes every
    row's parameters again, the largest cost of a 1,000-sample batch
    (psycopg pipelines an executemany; SQLite runs it in C)."""
    if not rows:
        return
    cache_key = (conn.dialect.name, *key, *columns)
    compiled = _COMPILED.get(cache_key)
    if compiled is None:
        dialect = conn.dialect if conn.dialect.positional else _positional_twin(conn.dialect)
        statement = build(dialect).compile(dialect=dialect, column_keys=list(columns))
        order = [columns.index(name) for name in statement.positiontup]
        compiled = _COMPILED[cache_key] = (statement.string,
                                           None if order == list(range(len(columns))) else operator.itemgetter(*order))
    sql, reorder = compiled
    conn.exec_driver_sql(sql, rows if reorder is None else list(map(reorder, rows)))


def _positional_twin(dialect: Any) -> Any:
    """The dialect compiling `%s` parameters (psycopg takes either style)."""
    twin = type(dialect)(paramstyle="format")
    twin.server_version_info = dialect.server_version_info
    return twin


_COMPILED: dict[tuple, tuple[str, Any]] = {}  # (dialect, *key, *columns) -> SQL, parameter order


def insert_for(dialect: Any) -> Callable[[Table], Any]:
    """The dialect's INSERT, which has ON CONFLICT."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def _upsert(conn: Any, table: Table, rows: list[dict], fold: bool) -> None:
    """Rows into `table`, folded into any existing row of their key (or
    replacing it), in key order so two writers lock rows in the same order."""
    executemany(conn, ("rollup", table.name, fold), lambda dialect: _upsert_statement(dialect, table, fold),
                sorted(rows, key=lambda r: (r["series_id"], r["bucket_start"])))


def _upsert_statement(dialect: Any, table: Table, fold: bool) -> Any:
    stmt = insert_for(dialect)(table)
    new, old = stmt.excluded, table.c
    if fold:
        later = new.last_time >= old.last_time
        changes = {"last": case((later, new.last), else_=old.last),
                   "last_time": case((later, new.last_time), else_=old.last_time)}
        for field, kind in rules.KIND_OF.items():
            changes[field] = (old[field] + new[field] if kind == "sum"
                              else case(((new[field] < old[field]) if kind == "min" else (new[field] > old[field]),
                                         new[field]), else_=old[field]))
    else:
        changes = {field: new[field] for field in rules.FIELDS}
    return stmt.on_conflict_do_update(index_elements=[table.c.series_id, table.c.bucket_start], set_=changes)


def _fields(row: Any) -> dict[str, float]:
    return rules.point_fields(row.time, row.value, row.count, row.sum, row.min, row.max, row.last)


@dataclass
class WrittenPoints:
    """A write's points as columns, in (series, time) order, one per
    (series, second): the points upsert's rows and the rollups' input."""

    series_id: list[int]
    time: list[int]
    value: list[float]
    count: list[int]
    sum: list[float]
    min: list[float]
    max: list[float]
    last: list[float]
    stddev: list[float | None]

    def rows(self) -> list[tuple]:
        """The points rows, in POINT_COLUMNS order."""
        return list(zip(*(getattr(self, c) for c in POINT_COLUMNS)))

    def keys(self) -> list[tuple[int, int]]:
        return list(zip(self.series_id, self.time))


POINT_COLUMNS = ("series_id", "time", *POINT_STATS, "stddev")
_POINT_ARRAYS = ("bigint", "bigint", "float8", "bigint", "float8", "float8", "float8", "float8", "float8")


def write_points(conn: Any, written: WrittenPoints) -> None:
    """The points upsert, a point already at its (series, second) replaced,
    in key order (two replicas writing the same points at once lock them in
    the same order and never deadlock). SQLite: one executemany (in C).
    PostgreSQL: one statement of the columns as arrays, unnest()ed (a row
    each through psycopg's executemany costs ~20 µs of CPU a point, ~5x
    PostgreSQL's COPY of them)."""
    if conn.dialect.name != "postgresql":
        executemany_tuples(conn, ("points upsert",), _points_upsert, POINT_COLUMNS, written.rows())
    elif written.time:
        conn.exec_driver_sql(_POSTGRESQL_POINTS_UPSERT, tuple(_array_text(getattr(written, c)) for c in POINT_COLUMNS))


def _array_text(numbers: list) -> str:
    """A PostgreSQL array literal of numbers (None: NULL): Python's str of a
    float is the shortest text that reads back as the same double, and
    joining them runs in C, where psycopg's dump of a list runs a regular
    expression per element."""
    return "{" + ",".join(map(str, numbers)).replace("None", "NULL") + "}"


_POSTGRESQL_POINTS_UPSERT = (
    f"INSERT INTO points ({', '.join(POINT_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{kind}[]' for kind in _POINT_ARRAYS)}) "
    f"ON CONFLICT (series_id, time) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in POINT_COLUMNS[2:]))


def _points_upsert(dialect: Any) -> Any:
    stmt = insert_for(dialect)(points)
    return stmt.on_conflict_do_update(index_elements=[points.c.series_id, points.c.time],
                                      set_={c: stmt.excluded[c] for c in POINT_COLUMNS[2:]})


def keys_maybe_stored(conn: Any, keys: list[tuple[int, int]], chunk: int = 500) -> list[tuple[int, int]]:
    """The (series, time) keys at which a stored point may be: those not
    after their series' newest point, which the hour rollups know (the
    largest `last_time` from the batch's first hour on; one indexed read per
    500 series). Samples arriving in time order, as an agent sends them,
    have none, so the points lookup below is skipped for them."""
    if not keys:
        return []
    first_hour = rules.floor_to(min(t for _, t in keys), rules.HOUR)
    ids = sorted({sid for sid, _ in keys})
    newest: dict[int, int] = {}
    for i in range(0, len(ids), chunk):
        newest.update(conn.execute(_NEWEST_POINTS, {"ids": ids[i:i + chunk], "first_hour": first_hour}).all())
    if not newest:
        return []
    return [(sid, t) for sid, t in keys if sid in newest and t <= newest[sid]]


# Built once (bound values): building the statement cost more than running it.
_NEWEST_POINTS = (select(rollup_hours.c.series_id, func.max(rollup_hours.c.last_time))
                  .where(rollup_hours.c.series_id.in_(bindparam("ids", expanding=True)),
                         rollup_hours.c.bucket_start >= bindparam("first_hour", type_=BigInteger))
                  .group_by(rollup_hours.c.series_id))


def existing_points(conn: Any, keys: list[tuple[int, int]], chunk: int = 500) -> dict[tuple[int, int], Any]:
    """The stored points at these (series, time) keys, before a write replaces
    them. Looked up through the primary key by `series_id IN (…) AND time IN
    (…)` (SQLite scans the whole table for a row-value IN): all the batch's
    series at all its times when that product is small (many series at one
    time, one series at many), else series by series."""
    wanted = set(keys)
    times_of: dict[int, list[int]] = defaultdict(list)
    for sid, t in keys:
        times_of[sid].append(t)
    all_times = sorted({t for _, t in keys})
    if len(times_of) * len(all_times) <= 4 * len(keys) + 100:
        groups = [(sorted(times_of), all_times)]
    else:
        groups = [([sid], sorted(ts)) for sid, ts in sorted(times_of.items())]
    found: dict[tuple[int, int], Any] = {}
    for ids, times in groups:
        for i in range(0, len(ids), chunk):
            for j in range(0, len(times), chunk):
                rows = conn.execute(
                    select(points.c.series_id, points.c.time, *[points.c[c] for c in POINT_STATS])
                    .where(points.c.series_id.in_(ids[i:i + chunk]), points.c.time.in_(times[j:j + chunk])))
                found |= {(r.series_id, r.time): r for r in rows if (r.series_id, r.time) in wanted}
    return found


def hold_series(conn: Any, series_ids: Iterable[int]) -> None:
    """PostgreSQL: lock the series' rows (in id order, so writers never
    deadlock) until the transaction ends, so that what this write reads of
    their points (existing_points) stays true until it commits: two replicas
    writing one series take turns. SQLite: its one write lock, already held
    by the write's first statement, does that."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(series.c.id).where(series.c.id.in_(sorted(set(series_ids))))
                     .order_by(series.c.id).with_for_update())


def fold_written(conn: Any, written: WrittenPoints, before: Mapping[tuple[int, int], Any]) -> None:
    """Bring the rollups up to date with points just written (after the raw
    upsert), `before` holding the points they replaced: the new points folded
    in (rules.columns_folded, every series at once), the buckets of a point
    that replaced a different one recomputed."""
    dirty: dict[int, set[tuple[int, int]]] = {level: set() for level in rules.ROLLUPS}
    columns = {c: getattr(written, c) for c in ("series_id", "time", *POINT_STATS)}
    if before:
        new = []
        for i, key in enumerate(zip(written.series_id, written.time)):
            old = before.get(key)
            if old is None:
                new.append(i)
            elif any(getattr(old, c) != columns[c][i] for c in POINT_STATS):  # else re-sent as it was
                for level in rules.ROLLUPS:
                    dirty[level].add((key[0], rules.floor_to(key[1], level)))
        columns = {c: [values[i] for i in new] for c, values in columns.items()}
    columns = rules.as_arrays(columns)
    for level in rules.ROLLUPS:
        folds = rules.columns_folded(columns["series_id"], columns["time"], columns, level)
        rows = [{"series_id": sid, "bucket_start": start, **fields}
                for sid, start, fields in folds if (sid, start) not in dirty[level]]
        _upsert(conn, TABLES[level], rows, fold=True)
        # (An hour is recomputed from its minutes, a day from its hours: current by now, finest first.)
        _upsert(conn, TABLES[level], [_recomputed(conn, level, sid, start) for sid, start in sorted(dirty[level])],
                fold=False)


def _recomputed(conn: Any, level: int, sid: int, start: int) -> dict:
    """A rollup row made again from what it rolls up: a minute from its
    points, an hour from its minutes, a day from its hours (each already
    current in this transaction)."""
    finer = FINER[level]
    if finer == rules.RAW:
        rows = conn.execute(select(points.c.time, *[points.c[c] for c in POINT_STATS]).where(
            points.c.series_id == sid, points.c.time >= start, points.c.time < start + level))
        fields = rules.folded(_fields(r) for r in rows)
    else:
        table = TABLES[finer]
        rows = conn.execute(select(table).where(
            table.c.series_id == sid, table.c.bucket_start >= start, table.c.bucket_start < start + level))
        fields = rules.folded({f: getattr(r, f) for f in rules.FIELDS} for r in rows)
    return {"series_id": sid, "bucket_start": start, **fields}


def watermarks(conn: Any) -> dict[int, int]:
    """Per level, the time before which retention deleted its rows."""
    by_name = {name: level for level, name in rules.LEVEL_NAMES.items()}
    return {by_name[r.level]: int(r.expired_before) for r in conn.execute(select(retention_marks))}


def bucket_fields(conn: Any, series_ids: list[int], plan: list[rules.Segment], resolution: int,
                  fields: tuple[str, ...]) -> dict[int, dict[int, dict[str, float]]]:
    """Per series and bucket of `resolution`, the rollup `fields` over every
    segment of the plan: raw points where it says raw, rollup rows elsewhere."""
    # rules.merged of these fields, by position (none of them is `last`).
    merge = [_MERGE[rules.KIND_OF[f]] for f in fields]
    values_by: dict[int, dict[int, list[float]]] = defaultdict(dict)
    for segment in plan:
        with conn.execute(_segment_query(segment.level, tuple(fields)),
                          {"ids": series_ids, "lo": segment.lo, "hi": segment.hi,
                           "resolution": resolution}) as result:
            # The driver's own tuples: a Row per bucket costs more than
            # SQLite's read of it (a month of hour rows is ~250 buckets).
            rows = result.cursor.fetchall()
        for sid, bucket, *values in rows:
            by_bucket = values_by[sid]
            key = int(bucket)
            known = by_bucket.get(key)
            by_bucket[key] = values if known is None else [m(a, b) for m, a, b in zip(merge, known, values)]
    return {sid: {key: dict(zip(fields, values)) for key, values in by_bucket.items()}
            for sid, by_bucket in values_by.items()}


_MERGE = {"sum": operator.add, "min": min, "max": max}


@functools.lru_cache(maxsize=128)
def _segment_query(level: int, fields: tuple[str, ...]) -> Any:
    """The read of one segment's `fields` in buckets, built once per level
    and fields (its values bound at execution): building a statement costs
    more than SQLite's read of a month of hour rows."""
    if level == rules.RAW:
        table, time = points, points.c.time
        columns = [func.count().label(f) if f == "point_count" else
                   AGGREGATE[rules.KIND_OF[f]](points.c[_column_of(f)]).label(f) for f in fields]
    else:
        table = TABLES[level]
        time = table.c.bucket_start
        columns = [AGGREGATE[rules.KIND_OF[f]](table.c[f]).label(f) for f in fields]
    bucket = time - time % bindparam("resolution", type_=BigInteger)
    return (select(table.c.series_id, bucket.label("bucket"), *columns)
            .where(table.c.series_id.in_(bindparam("ids", expanding=True)),
                   time >= bindparam("lo", type_=BigInteger), time < bindparam("hi", type_=BigInteger))
            .group_by(table.c.series_id, bucket))


def _column_of(field: str) -> str:
    return next(c for (c, _k), name in rules.FIELD_OF.items() if name == field)


class RetentionSweep:
    """Deletes what is past its resolution's retention, a bounded step at a
    time: the watermarks are moved first (a read then takes those times from
    the next coarser resolution, whether or not their rows are gone yet),
    then each DELETE removes at most ROWS_PER_DELETE rows of at most
    SERIES_PER_EXPIRY series, in its own short transaction. Each replica
    sweeps on its own; deleting twice is harmless."""

    def __init__(self, engine: Engine, retention: rules.Retention | None) -> None:
        self.engine = engine
        self.retention = retention
        self.after_series = 0  # where the next step starts (series ids above this)
        self.marks_written: dict[int, int] = {}

    def step(self, now: float) -> int:
        """One step: rows deleted (none without a retention: everything is kept)."""
        if self.retention is None:
            return 0
        marks = {level: self.retention.watermark(level, now) for level in rules.LEVEL_NAMES}
        if marks != self.marks_written:  # they move at most once a minute (the raw mark, on the minute grid)
            with self.engine.begin() as conn:
                self._raise_marks(conn, marks)
            self.marks_written = marks
        with self.engine.connect() as conn:
            ids = conn.execute(select(series.c.id).where(series.c.id > self.after_series)
                               .order_by(series.c.id).limit(SERIES_PER_EXPIRY)).scalars().all()
        if not ids:
            self.after_series = 0
            return 0
        deleted, more = 0, False
        for level, mark in marks.items():
            table = points if level == rules.RAW else TABLES[level]
            time = points.c.time if level == rules.RAW else table.c.bucket_start
            budget = ROWS_PER_DELETE
            with self.engine.begin() as conn:  # one short transaction of at most `budget` rows
                for sid in ids:
                    # Series by series through the primary key: the oldest `budget` rows at most.
                    cut = conn.execute(select(time).where(table.c.series_id == sid, time < mark)
                                       .order_by(time).offset(budget).limit(1)).scalar()
                    gone = conn.execute(delete(table).where(table.c.series_id == sid,
                                                            time < (mark if cut is None else cut))).rowcount
                    deleted += gone
                    budget -= gone
                    if cut is not None or budget <= 0:
                        more = True
                        break
        if not more:  # these series are done: the next step takes the next ones
            self.after_series = ids[-1]
        return deleted

    @staticmethod
    def _raise_marks(conn: Any, marks: dict[int, int]) -> None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(retention_marks)
        stmt = stmt.on_conflict_do_update(index_elements=[retention_marks.c.level], set_={
            "expired_before": case((stmt.excluded.expired_before > retention_marks.c.expired_before,
                                    stmt.excluded.expired_before), else_=retention_marks.c.expired_before)})
        conn.execute(stmt, [{"level": rules.LEVEL_NAMES[level], "expired_before": mark}
                            for level, mark in sorted(marks.items())])
