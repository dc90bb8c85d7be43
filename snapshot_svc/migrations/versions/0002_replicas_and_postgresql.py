"""Several replicas on PostgreSQL: the sweeper's claim lease, series keyed by
a digest of their tags, and the indexes PostgreSQL's plans asked for.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

- jobs.sweep_claimed_until: the lease a replica's sweeper holds on the
  unpublished jobs it claimed (SnapshotStore.claim_unpublished).
- series.tags_sha256, unique with (account_id, metric) in place of the tags
  text: 50 tags of 255 characters outgrow a PostgreSQL index entry. Filled in
  for every existing series.
- snapshots: (account_id, id | created_at | end_time) in place of
  (account_id): an account's page of snapshots in each order the API offers.
- jobs.ix_jobs_unpublished gains created_at: the sweeper's oldest-first claim.
- spaces.name and destinations.title sort bytewise on PostgreSQL (COLLATE
  "C"), as on SQLite, whatever the database's collation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from snapshot_svc.measurements import tags_digest

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BACKFILL_BATCH = 1000
SORTED_NAMES = (('spaces', 'name'), ('destinations', 'title'))


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sweep_claimed_until', sa.Float(), nullable=True))
        batch_op.drop_index('ix_jobs_unpublished')
        batch_op.create_index('ix_jobs_unpublished', ['state', 'published_at', 'created_at'], unique=False)

    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags_sha256', sa.String(length=64), nullable=True))
    _fill_tags_sha256(op.get_bind())
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.alter_column('tags_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_series', type_='unique')
        batch_op.create_unique_constraint('uq_series_tags', ['account_id', 'metric', 'tags_sha256'])

    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_snapshots_account_id')
        batch_op.create_index('ix_snapshots_account_id', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_snapshots_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_snapshots_account_end', ['account_id', 'end_time'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':  # SQLite compares bytewise already
        for table, column in SORTED_NAMES:
            op.alter_column(table, column, type_=sa.String(length=255, collation='C'),
                            existing_type=sa.String(length=255), existing_nullable=False)


def _fill_tags_sha256(conn: sa.Connection) -> None:
    series = sa.table('series', sa.column('id', sa.BigInteger), sa.column('tags', sa.Text),
                      sa.column('tags_sha256', sa.String))
    last = None
    while True:
        query = sa.select(series.c.id, series.c.tags).order_by(series.c.id).limit(BACKFILL_BATCH)
        if last is not None:
            query = query.where(series.c.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        conn.execute(sa.update(series).where(series.c.id == sa.bindparam('row_id'))
                     .values(tags_sha256=sa.bindparam('digest')),
                     [{'row_id': r.id, 'digest': tags_digest(r.tags)} for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in SORTED_NAMES:
            op.alter_column(table, column, type_=sa.String(length=255),
                            existing_type=sa.String(length=255, collation='C'), existing_nullable=False)

    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_snapshots_account_end')
        batch_op.drop_index('ix_snapshots_account_created')
        batch_op.drop_index('ix_snapshots_account_id')
        batch_op.create_index('ix_snapshots_account_id', ['account_id'], unique=False)

    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_constraint('uq_series_tags', type_='unique')
        batch_op.create_unique_constraint('uq_series', ['account_id', 'metric', 'tags'])
        batch_op.drop_column('tags_sha256')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_unpublished')
        batch_op.create_index('ix_jobs_unpublished', ['state', 'published_at'], unique=False)
        batch_op.drop_column('sweep_claimed_until')
