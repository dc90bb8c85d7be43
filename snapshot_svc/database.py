"""Engine construction. SQLite gets WAL and a busy timeout so the readers of
the gateway's traffic never block on a writer; PostgreSQL (psycopg 3) gets a
connection pool sized by the settings. The schema is not made here: it is
migrated by `chartsnap db upgrade` (snapshot_svc.schema)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from chartsnap import errors



def the_row(conn: Any, query: Any, what: str) -> Any:
    """The one row `query` finds, or NotFound naming `what` (the same answer
    whether the row does not exist or belongs to another account)."""
    row = conn.execute(query).first()
    if row is None:
        raise errors.NotFound(f"{what} not found")
    return row


@dataclass(frozen=True)
class PoolSize:
    """Connections one process keeps to PostgreSQL. Every database call runs
    on one of the service's db threads (CHARTSNAP_DB_THREADS), so a pool of
    that many never makes a thread wait for a connection; the overflow covers
    the sweeper and the result consumers running beside them."""

    size: int = 16
    overflow: int = 4
    timeout: float = 10.0  # seconds to wait for a free connection before the call fails


def make_engine(url: str, pool: PoolSize = PoolSize()) -> Engine:
    if url.startswith("sqlite:///"):  # its directory may not exist yet (a fresh data dir)
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
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
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool.size, max_overflow=pool.overflow,
                               pool_timeout=pool.timeout)
    return engine
