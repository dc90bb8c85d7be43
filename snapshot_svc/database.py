"""Engine construction, and the few statements whose SQL differs between the
engines, chosen here once. SQLite gets WAL and a busy timeout so the readers
of the gateway's traffic never block on a writer; PostgreSQL (psycopg 3) and
an SQLite file both get a connection pool sized by the settings
(CHARTSNAP_DB_POOL_SIZE, CHARTSNAP_DB_POOL_OVERFLOW). The schema is not made here: it is migrated by
`chartsnap db upgrade` (snapshot_svc.schema).

PostgreSQL runs each transaction at READ COMMITTED, so a transition that reads
a job and then writes what it read (a delivery ended: count the deliveries
still pending, then set the job's progress) first locks the job's row
(`lock_job_row`): two replicas applying results for one job at once then take
turns, and the second reads what the first committed."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, update

from chartsnap import errors


# PostgreSQL's text columns cannot hold U+0000 (SQLite's can): text that goes
# into one is refused with this, the same on both engines, naming its field.
NOT_STORABLE = "must not contain the NUL character (U+0000)"


def storable(value: str | None) -> bool:
    """Whether a text column on every engine can hold `value`."""
    return value is None or "\x00" not in value


def made_storable(text: str) -> str:
    """`text` with every NUL replaced, for text we did not take from a user and
    cannot refuse (a worker's error may quote anything it was sent)."""
    return text.replace("\x00", "\N{REPLACEMENT CHARACTER}")


def the_row(conn: Any, query: Any, what: str, params: dict[str, Any] | None = None) -> Any:
    """The one row `query` finds (with its bound `params`), or NotFound naming
    `what` (the same answer whether the row does not exist or belongs to
    another account)."""
    row = conn.execute(query, params or {}).first()
    if row is None:
        raise errors.NotFound(f"{what} not found")
    return row


DEFAULT_DB_THREADS = 16  # CHARTSNAP_DB_THREADS; the pool has as many connections by default
DEFAULT_POOL_OVERFLOW = 4


@dataclass(frozen=True)
class PoolSize:
    """Connections one process keeps to PostgreSQL (or an SQLite file). Every database call runs
    on one of the service's db threads (CHARTSNAP_DB_THREADS), so a pool of
    that many (CHARTSNAP_DB_POOL_SIZE, by default the thread count) never
    makes a thread wait for a connection; the overflow
    (CHARTSNAP_DB_POOL_OVERFLOW) covers calls made beside them (the admin
    command, a start-up check). A process opens at most `most`; N replicas
    at most N × `most`, which must stay below the server's max_connections
    (less its superuser_reserved_connections)."""

    size: int = DEFAULT_DB_THREADS
    overflow: int = DEFAULT_POOL_OVERFLOW
    timeout: float = 10.0  # seconds to wait for a free connection before the call fails

    @property
    def most(self) -> int:
        """The most connections one process opens."""
        return self.size + self.overflow


def make_engine(url: str, pool: PoolSize = PoolSize()) -> Engine:
    if url.startswith("sqlite:///"):  # its directory may not exist yet (a fresh data dir)
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # A file's connections pooled like PostgreSQL's: SQLAlchemy's default
        # keeps 5, so under a burst every db thread past the fifth opened a
        # connection (its PRAGMAs, its read of the schema) per call.
        file_pool = ({"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}
                     if url.startswith("sqlite:///") and not url.endswith(":memory:") else {})
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **file_pool)

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


@dataclass(frozen=True)
class RowLock:
    """lock_row's statements for one table and condition, built once: a hot
    path (a job's transitions) builds them at import, with its values bound
    at execution (`bindparam`), instead of on every call."""

    touch: Any        # SQLite: a no-op UPDATE of the row takes the database's write lock
    read: Any
    read_for_update: Any

    @classmethod
    def of(cls, table: Table, *where: Any) -> "RowLock":
        key = next(iter(table.primary_key.columns))
        return cls(update(table).where(*where).values({key.name: key}), select(table).where(*where),
                   select(table).where(*where).with_for_update())

    def take(self, conn: Any, params: dict[str, Any] | None = None) -> Any:
        """Hold the row until the transaction ends and return it (None when there is none)."""
        if conn.dialect.name == "sqlite":
            conn.execute(self.touch, params or {})
            return conn.execute(self.read, params or {}).first()
        return conn.execute(self.read_for_update, params or {}).first()


def lock_row(conn: Any, table: Table, *where: Any) -> Any:
    """Hold the row matching `where` until the transaction ends and return it
    (None when there is none). PostgreSQL: SELECT ... FOR UPDATE. SQLite has
    no row locks: a write takes its one database lock, so a no-op UPDATE of
    the row makes every later statement of the transaction serialised with
    every other writer, as FOR UPDATE would."""
    return RowLock.of(table, *where).take(conn)


# Any number that no other user of the database takes as an advisory lock.
MIGRATION_LOCK = 0x63686172_74736E61  # "chartsna"


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive flock on `<database file>.migration-lock` (nothing for other databases)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migration-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One connection and one transaction for changing the schema, committed
    at the end, held so that concurrent `chartsnap db upgrade` runs (each
    replica's, as it starts) take turns. PostgreSQL: a transaction-scoped
    advisory lock; its DDL is transactional. SQLite: BEGIN IMMEDIATE takes
    the database's write lock at once (and makes the DDL transactional), and
    foreign keys are off meanwhile, as SQLite's copy-and-rename table changes
    require (the setting cannot change inside a transaction). Before any of
    that, SQLite's runs also take an exclusive lock on a file beside the
    database: a brand-new file's first connections race to switch it to WAL,
    and SQLite answers one of them "database is locked" without waiting."""
    sqlite = engine.dialect.name == "sqlite"
    with _sqlite_file_lock(engine), engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
