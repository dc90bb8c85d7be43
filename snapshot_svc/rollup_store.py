"""Rollups in the database (the rules are snapshot_svc.rollup_rules): kept in
the transaction that writes the points, read by segments of a read plan, and
expired a bounded batch at a time.

Kept as samples arrive, not by a background step: a read is exact the moment
a write commits, nothing lags, and no coordinator decides which replica rolls
up what. The cost is one upsert per (series, minute) and (series, hour) a
batch touches, the batch folded in Python first: a 1,000-sample batch of one
series' 10-second samples touches 167 minutes and 3 hours. New points fold
(sums add, extremes keep, the latest time's `last` wins, so late and
out-of-order samples land right); a point that replaces a different one at
the same second (the raw path keeps the newest sample of a second) makes its
minute and hour be recomputed, the minute from its points, the hour from its
minutes; a re-sent identical point changes nothing."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

from sqlalchemy import Engine, Table, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from snapshot_svc import rollup_rules as rules
from snapshot_svc.tables import points, retention_marks, rollup_hours, rollup_minutes, series

TABLES = {rules.MINUTE: rollup_minutes, rules.HOUR: rollup_hours}
POINT_STATS = ("value", "count", "sum", "min", "max", "last")
AGGREGATE = {"sum": func.sum, "min": func.min, "max": func.max}
SERIES_PER_EXPIRY = 200   # series one retention step looks at
ROWS_PER_DELETE = 5_000   # rows one retention DELETE removes at most (a short lock)


def _upsert(conn: Any, table: Table, rows: list[dict], fold: bool) -> None:
    """Rows into `table`, folded into any existing row of their key (or
    replacing it), in key order so two writers lock rows in the same order."""
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
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
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.series_id, table.c.bucket_start], set_=changes)
    conn.execute(stmt, sorted(rows, key=lambda r: (r["series_id"], r["bucket_start"])))


def _fields(row: Any) -> dict[str, float]:
    return rules.point_fields(row.time, row.value, row.count, row.sum, row.min, row.max, row.last)


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


def fold_written(conn: Any, written: Mapping[tuple[int, int], Mapping[str, Any]],
                 before: Mapping[tuple[int, int], Any]) -> None:
    """Bring the rollups up to date with points just written (`written`,
    keyed by (series, time), after the raw upsert), `before` holding the
    points they replaced."""
    new: dict[tuple[int, int], list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)  # by (series, minute)
    dirty: dict[int, set[tuple[int, int]]] = {level: set() for level in rules.ROLLUPS}
    for (sid, t), row in written.items():
        old = before.get((sid, t))
        if old is None:
            new[(sid, rules.floor_to(t, rules.MINUTE))].append((t, row))
        elif any(getattr(old, c) != row[c] for c in POINT_STATS):  # else re-sent as it was
            for level in rules.ROLLUPS:
                dirty[level].add((sid, rules.floor_to(t, level)))
    minutes = {key: rules.points_folded(rows) for key, rows in new.items()}
    hours: dict[tuple[int, int], dict[str, float]] = {}
    for (sid, start), fields in minutes.items():
        key = (sid, rules.floor_to(start, rules.HOUR))
        hours[key] = rules.merged(hours[key], fields) if key in hours else fields
    for level, folds in ((rules.MINUTE, minutes), (rules.HOUR, hours)):
        rows = [{"series_id": sid, "bucket_start": start, **fields}
                for (sid, start), fields in folds.items() if (sid, start) not in dirty[level]]
        _upsert(conn, TABLES[level], rows, fold=True)
        _upsert(conn, TABLES[level], [_recomputed(conn, level, sid, start) for sid, start in sorted(dirty[level])],
                fold=False)


def _recomputed(conn: Any, level: int, sid: int, start: int) -> dict:
    """A rollup row made again from what it rolls up: a minute from its
    points, an hour from its minutes (already current in this transaction)."""
    if level == rules.MINUTE:
        rows = conn.execute(select(points.c.time, *[points.c[c] for c in POINT_STATS]).where(
            points.c.series_id == sid, points.c.time >= start, points.c.time < start + level))
        fields = rules.folded(_fields(r) for r in rows)
    else:
        rows = conn.execute(select(rollup_minutes).where(
            rollup_minutes.c.series_id == sid, rollup_minutes.c.bucket_start >= start,
            rollup_minutes.c.bucket_start < start + level))
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
    out: dict[int, dict[int, dict[str, float]]] = defaultdict(dict)
    for segment in plan:
        if segment.level == rules.RAW:
            time = points.c.time
            columns = [func.count().label(f) if f == "point_count" else
                       AGGREGATE[rules.KIND_OF[f]](points.c[_column_of(f)]).label(f) for f in fields]
            table = points
        else:
            table = TABLES[segment.level]
            time = table.c.bucket_start
            columns = [AGGREGATE[rules.KIND_OF[f]](table.c[f]).label(f) for f in fields]
        bucket = time - time % resolution
        query = (select(table.c.series_id, bucket.label("bucket"), *columns)
                 .where(table.c.series_id.in_(series_ids), time >= segment.lo, time < segment.hi)
                 .group_by(table.c.series_id, bucket))
        for row in conn.execute(query):
            found = {f: getattr(row, f) for f in fields}
            by_bucket = out[row.series_id]
            key = int(row.bucket)
            by_bucket[key] = rules.merged(by_bucket[key], found) if key in by_bucket else found
    return out


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
        if marks != self.marks_written:  # they move once an hour
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
