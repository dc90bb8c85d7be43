"""Share pages, request ids and disabled accounts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

- snapshots.chart_name: the chart's name when the snapshot was taken, for its
  public share page (the chart may be renamed or deleted later). Empty on
  older snapshots: their page names the chart by its id.
- snapshots.request_id: the X-Request-Id of the call that took the snapshot,
  so every later message about it (a republish by the sweeper included)
  carries it to the services' logs.
- accounts.disabled_at: when an operator disabled the account
  (`chartsnap user disable`); a disabled account's token is refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chart_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_column('request_id')
        batch_op.drop_column('chart_name')
