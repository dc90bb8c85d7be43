"""Engine construction. SQLite gets WAL and a busy timeout so the readers of
the gateway's traffic never block on a writer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from chartsnap import errors

from snapshot_svc.tables import add_missing_columns, metadata


def the_row(conn: Any, query: Any, what: str) -> Any:
    """The one row `query` finds, or NotFound naming `what` (the same answer
    whether the row does not exist or belongs to another account)."""
    row = conn.execute(query).first()
    if row is None:
        raise errors.NotFound(f"{what} not found")
    return row


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001 - DBAPI types
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    add_missing_columns(engine)  # databases made before a column was added
    return engine
