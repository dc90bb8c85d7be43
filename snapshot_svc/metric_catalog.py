"""Metric metadata (GET /v1/metrics, GET and PUT /v1/metrics/:name): the
`metrics` table, through SQLAlchemy. Samples make a metric when they name a
new one (MeasurementStore.submit); the rules live in metric_rules."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from chartsnap import errors
from snapshot_svc import metric_rules
from snapshot_svc.database import lock_row, the_row
from snapshot_svc.pagination import Page
from snapshot_svc.tables import metrics

ORDERABLE = ("name",)


def _as_dict(row: Any) -> dict:
    return {"name": row.name, "type": row.type, "display_name": row.display_name,
            "description": row.description, "period": row.period, "attributes": dict(row.attributes or {})}


class MetricCatalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)

    def list(self, account_id: int, page: Page, name: str = "") -> tuple[int, int, list[dict]]:
        """(found, total, page): an account's metrics in name order, those
        whose name contains `name` (names are stored lower-cased)."""
        base = select(metrics).where(metrics.c.account_id == account_id)
        filtered = base.where(metrics.c.name.contains(name.lower(), autoescape=True)) if name else base
        order = metrics.c.name
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            found = conn.execute(select(func.count()).select_from(filtered.subquery())).scalar_one()
            rows = conn.execute(
                filtered.order_by(order.desc() if page.descending else order.asc())
                .offset(page.offset).limit(page.length)
            ).all()
        return found, total, [_as_dict(r) for r in rows]

    def get(self, account_id: int, name: str) -> dict:
        stored = metric_rules.checked_name(name)
        with self.engine.connect() as conn:
            row = the_row(conn, select(metrics).where(metrics.c.account_id == account_id,
                                                      metrics.c.name == stored), "metric")
        return _as_dict(row)

    def put(self, account_id: int, change: metric_rules.MetricUpdate) -> tuple[bool, dict]:
        """Librato's PUT /v1/metrics/:name: updates the metric, or creates it
        when it does not exist and `type` is given (an existing metric keeps
        its type). (created, the metric)."""
        now = time.time()
        with self.engine.begin() as conn:
            if change.type is not None:
                created = conn.execute(
                    self._insert(metrics).on_conflict_do_nothing(index_elements=[metrics.c.account_id,
                                                                                 metrics.c.name])
                    .returning(metrics.c.id),
                    {"account_id": account_id, "name": change.name, "type": change.type,
                     "attributes": {}, "created_at": now, "updated_at": now}).first() is not None
            else:
                created = False
            where = (metrics.c.account_id == account_id) & (metrics.c.name == change.name)
            row = lock_row(conn, metrics, where)
            if row is None:
                raise errors.InvalidParams.one("type", f"is required to create a metric (one of "
                                                       f"{', '.join(metric_rules.TYPES)})")
            values = change.changes()
            values["attributes"] = metric_rules.applied(dict(row.attributes or {}), change.attributes)
            values["updated_at"] = now
            conn.execute(update(metrics).where(where).values(**values))
            row = conn.execute(select(metrics).where(where)).one()
        return created, _as_dict(row)
