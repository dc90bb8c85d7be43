"""Series keep which API wrote them; points keep a standard deviation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- series.origin: `tagged` (POST /v1/measurements) or `legacy` (POST
  /v1/metrics, the source-based API). A legacy sample from source "web1" and a
  tagged sample with {"source": "web1"} are two series, never one: the unique
  key's digest (tags_sha256) covers the origin of legacy series too
  (snapshot_svc.measurements.series_digest). Series made before this revision
  are `tagged`: which API wrote them was not recorded.
- points.stddev: the population standard deviation a summary sample reports
  (`stddev`, `stddev_m2`, or the legacy `sum_squares`); NULL when it reports none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=8), nullable=False, server_default='tagged'))
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stddev', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.drop_column('stddev')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('origin')
