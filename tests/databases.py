"""Databases for the tests: a URL migrated to this code's head, the way
`chartsnap db upgrade` migrates a real one."""

from __future__ import annotations

from sqlalchemy import Engine

from snapshot_svc import schema
from snapshot_svc.database import make_engine


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    schema.upgrade(engine)
    return engine
