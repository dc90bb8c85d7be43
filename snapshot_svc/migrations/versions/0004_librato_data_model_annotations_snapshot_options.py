"""Librato's data model: metric metadata, annotations, snapshot drawing options
and the data behind each picture.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- metrics: per-metric metadata (type, period, display attributes) for
  GET /v1/metrics and GET /v1/metrics/:name.
- annotation_streams, annotation_events: /v1/annotations.
- snapshots.timezone, scale, theme, annotations: drawing options chosen at
  creation; snapshots.summary: one line about the data; snapshots.png_sha256:
  the stored image's digest.
- snapshot_data: the series a snapshot's image is drawn from, frozen when it
  is taken (GET /v1/snapshots/:id/data).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SortedName = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('scale', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('theme', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('annotations', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('png_sha256', sa.String(length=64), nullable=True))
    op.create_table(
        'snapshot_data',
        sa.Column('snapshot_id', _Id, nullable=False),
        sa.Column('resolution', sa.Integer(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['snapshot_id'], ['snapshots.id']),
        sa.PrimaryKeyConstraint('snapshot_id'),
    )
    op.create_table(
        'metrics',
        sa.Column('id', _Id, autoincrement=True, nullable=False),
        sa.Column('account_id', _Id, nullable=False),
        sa.Column('name', _SortedName, nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('display_name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('period', sa.Integer(), nullable=True),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'name', name='uq_metric_name'),
    )
    op.create_table(
        'annotation_streams',
        sa.Column('id', _Id, autoincrement=True, nullable=False),
        sa.Column('account_id', _Id, nullable=False),
        sa.Column('name', _SortedName, nullable=False),
        sa.Column('display_name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'name', name='uq_annotation_stream_name'),
    )
    op.create_table(
        'annotation_events',
        sa.Column('id', _Id, autoincrement=True, nullable=False),
        sa.Column('stream_id', _Id, nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=255), nullable=True),
        sa.Column('start_time', sa.BigInteger(), nullable=False),
        sa.Column('end_time', sa.BigInteger(), nullable=True),
        sa.Column('links', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['stream_id'], ['annotation_streams.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_annotation_events_stream_start', 'annotation_events', ['stream_id', 'start_time'])


def downgrade() -> None:
    op.drop_index('ix_annotation_events_stream_start', table_name='annotation_events')
    op.drop_table('annotation_events')
    op.drop_table('annotation_streams')
    op.drop_table('metrics')
    op.drop_table('snapshot_data')
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        for column in ('png_sha256', 'summary', 'annotations', 'theme', 'scale', 'timezone'):
            batch_op.drop_column(column)
