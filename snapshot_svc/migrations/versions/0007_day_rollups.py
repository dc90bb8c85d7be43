"""1-day rollups of the points, and the hour watermark on the day grid.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

- rollup_days: per (series, UTC day) the same columns as rollup_minutes and
  rollup_hours (snapshot_svc.rollup_rules). Filled here from the hour
  rollups, a range of series at a time: sums add, extremes keep, `last` is
  the latest hour's; from then on kept by every write, in the write's
  transaction (snapshot_svc.rollup_store).
- retention_marks: the hours' watermark, if any, raised to the next day
  boundary (rollup_rules.Retention.watermark: each mark on the grid of the
  resolution serving the times before it), and the raw and minute marks to
  at least that one (a finer resolution never expires before a coarser).
  Days now serve the times before it and take over on whole days; the row of
  its day is the fold of exactly the hours still kept, as the hours gave.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DAY = 86_400
HOUR = 3_600


def _rollups_0006():
    """Migration 0006, whose frozen columns and roll-up SQL this one shares
    (a day rolls hours up as an hour rolls minutes up)."""
    path = Path(__file__).with_name("0006_rollups.py")
    spec = importlib.util.spec_from_file_location("chartsnap_migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backfill(bind: sa.Connection) -> None:
    m = _rollups_0006()
    top = bind.execute(sa.text("SELECT MAX(id) FROM series")).scalar()
    for lo in range(0, (top or 0) + 1, m.SERIES_PER_STEP):
        bind.execute(sa.text(
            f"INSERT INTO rollup_days ({m.TARGET_COLUMNS}) "
            f"SELECT {m.GROUP_COLUMNS}, "
            "(SELECT h.last FROM rollup_hours h WHERE h.series_id = g.series_id "
            f"AND h.bucket_start = g.last_time - g.last_time % {HOUR}), g.last_time "
            f"FROM (SELECT series_id, bucket_start - bucket_start % {DAY} AS bucket_start, "
            f"{m._aliased(m.ROLLUP_AGGREGATES)}, MAX(last_time) AS last_time FROM rollup_hours "
            f"WHERE series_id >= :lo AND series_id < :hi GROUP BY series_id, bucket_start - bucket_start % {DAY}) g"),
            {"lo": lo, "hi": lo + m.SERIES_PER_STEP})


def upgrade() -> None:
    op.create_table('rollup_days', *_rollups_0006()._columns())
    bind = op.get_bind()
    _backfill(bind)
    hours_mark = bind.execute(sa.text("SELECT expired_before FROM retention_marks WHERE level = 'hour'")).scalar()
    if hours_mark is not None:
        bind.execute(sa.text("UPDATE retention_marks SET expired_before = :mark WHERE level IN ('raw', 'minute', "
                             "'hour') AND expired_before < :mark"), {"mark": -(-hours_mark // DAY) * DAY})


def downgrade() -> None:
    # The hour watermark stays raised: the hours before it may be deleted already.
    op.drop_table('rollup_days')
    op.execute(sa.text("DELETE FROM retention_marks WHERE level = 'day'"))
