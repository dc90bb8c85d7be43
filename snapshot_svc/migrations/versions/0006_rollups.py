"""1-minute and 1-hour rollups of the points, and the retention watermarks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- rollup_minutes, rollup_hours: per (series, bucket start) what a bucket of
  raw points can be asked for (snapshot_svc.rollup_rules): how many points,
  the sum, min and max of each point statistic, the latest point's `last`
  and its time. Filled here from the existing points, a range of series at a
  time (minutes from the points, hours from the minutes); from then on kept
  by every write, in the write's transaction (snapshot_svc.rollup_store).
- retention_marks: per resolution, the time before which retention deleted
  its rows (none yet).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The rollup columns at this revision, frozen (rollup_rules.FIELDS may grow later).
INTEGER_FIELDS = ("point_count", "count", "count_min", "count_max")
FLOAT_FIELDS = ("value_sum", "value_min", "value_max", "sum", "sum_min", "sum_max", "min_sum", "min", "min_max",
                "max_sum", "max_min", "max")
SERIES_PER_STEP = 500  # series whose points one backfill statement reads


def _columns() -> list[sa.Column]:
    return [
        sa.Column('series_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.ForeignKey('series.id'),
                  primary_key=True),
        sa.Column('bucket_start', sa.BigInteger(), primary_key=True),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in INTEGER_FIELDS],
        *[sa.Column(name, sa.Float(), nullable=False) for name in FLOAT_FIELDS],
        sa.Column('last', sa.Float(), nullable=False),
        sa.Column('last_time', sa.BigInteger(), nullable=False),
    ]


def _q(name: str) -> str:
    return f'"{name}"'


# Each aggregate of a group of points, in the order of the rollup's columns.
POINT_AGGREGATES = ", ".join([
    "COUNT(*)", 'SUM("count")', 'MIN("count")', 'MAX("count")',
    *[f'{kind}({_q(column)})' for column in ("value", "sum", "min", "max") for kind in ("SUM", "MIN", "MAX")],
])
# The same over finer rollup rows (count of points = their point counts added).
ROLLUP_AGGREGATES = ", ".join([
    "SUM(point_count)", 'SUM("count")', "MIN(count_min)", "MAX(count_max)",
    *[f"{kind}({_q(field)})" for field, kind in zip(FLOAT_FIELDS, ["SUM", "MIN", "MAX"] * 4)],
])
TARGET_COLUMNS = ", ".join(_q(c) for c in ("series_id", "bucket_start", *INTEGER_FIELDS, *FLOAT_FIELDS, "last",
                                           "last_time"))
GROUP_COLUMNS = ", ".join(_q(c) for c in ("series_id", "bucket_start", *INTEGER_FIELDS, *FLOAT_FIELDS))


def _backfill(bind: sa.Connection) -> None:
    top = bind.execute(sa.text("SELECT MAX(id) FROM series")).scalar()
    for lo in range(0, (top or 0) + 1, SERIES_PER_STEP):
        hi = lo + SERIES_PER_STEP
        bind.execute(sa.text(
            f"INSERT INTO rollup_minutes ({TARGET_COLUMNS}) "
            f"SELECT {GROUP_COLUMNS}, "
            "(SELECT p.last FROM points p WHERE p.series_id = g.series_id AND p.time = g.last_time), g.last_time "
            f"FROM (SELECT series_id, time - time % 60 AS bucket_start, "
            f"{_aliased(POINT_AGGREGATES)}, MAX(time) AS last_time FROM points "
            "WHERE series_id >= :lo AND series_id < :hi GROUP BY series_id, time - time % 60) g"),
            {"lo": lo, "hi": hi})
        bind.execute(sa.text(
            f"INSERT INTO rollup_hours ({TARGET_COLUMNS}) "
            f"SELECT {GROUP_COLUMNS}, "
            "(SELECT m.last FROM rollup_minutes m WHERE m.series_id = g.series_id "
            "AND m.bucket_start = g.last_time - g.last_time % 60), g.last_time "
            f"FROM (SELECT series_id, bucket_start - bucket_start % 3600 AS bucket_start, "
            f"{_aliased(ROLLUP_AGGREGATES)}, MAX(last_time) AS last_time FROM rollup_minutes "
            "WHERE series_id >= :lo AND series_id < :hi GROUP BY series_id, bucket_start - bucket_start % 3600) g"),
            {"lo": lo, "hi": hi})


def _aliased(aggregates: str) -> str:
    """The aggregates named as the rollup's columns they fill."""
    parts = [a.strip() for a in aggregates.split(", ")]
    names = (*INTEGER_FIELDS, *FLOAT_FIELDS)
    return ", ".join(f"{a} AS {_q(n)}" for a, n in zip(parts, names, strict=True))


def upgrade() -> None:
    op.create_table('rollup_minutes', *_columns())
    op.create_table('rollup_hours', *_columns())
    op.create_table(
        'retention_marks',
        sa.Column('level', sa.String(length=8), primary_key=True),
        sa.Column('expired_before', sa.BigInteger(), nullable=False),
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table('retention_marks')
    op.drop_table('rollup_hours')
    op.drop_table('rollup_minutes')
