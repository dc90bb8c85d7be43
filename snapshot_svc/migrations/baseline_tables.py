"""The schema at revision 0001 (the baseline), frozen: what metadata.create_all()
made before migrations existed. Revision 0001 creates exactly these tables, and
`chartsnap db upgrade` brings a database made before migrations to this shape
(missing tables and columns added) before stamping it at 0001. Never edit it:
schema changes are new revisions, and snapshot_svc.tables is the head."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False, default=""),
    # SHA-256 of the API token: tokens are long and random, so a fast digest is
    # enough and keeps authentication off the slow-hash path.
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
)

spaces = Table(
    "spaces",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_space_name"),
)

charts = Table(
    "charts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("space_id", ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    # streams, thresholds, min, max, label, related_space, use_last_value
    Column("body", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

series = Table(
    "series",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("metric", String(255), nullable=False),  # lower-cased: names are case insensitive
    Column("tags", Text, nullable=False),  # canonical JSON, sorted keys
    UniqueConstraint("account_id", "metric", "tags", name="uq_series"),
)

points = Table(
    "points",
    metadata,
    Column("series_id", ForeignKey("series.id"), primary_key=True),
    Column("time", BigInteger, primary_key=True),
    Column("value", Float, nullable=False),  # the mean for summary samples
    Column("count", BigInteger, nullable=False, default=1),
    Column("sum", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("last", Float, nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("chart_id", BigInteger, nullable=False),
    Column("chart_type", String(16), nullable=False),
    Column("duration", BigInteger, nullable=False),
    Column("end_time", Float, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("narrowing", JSON, nullable=False),  # {"tags": [...], "source": ...}
    Column("services", JSON, nullable=False),
    Column("message", Text, nullable=True),
    # Chosen at creation, so every retry writes the same object: one image per snapshot.
    Column("image_key", String(255), nullable=False, unique=True),
    Column("image_ready", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("snapshot_id", ForeignKey("snapshots.id"), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("errors", JSON, nullable=False),
    # NULL until the render request is on the queue; a sweeper republishes
    # jobs left unpublished by a crash between commit and publish.
    Column("published_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Where the render request sits on the render stream (its PubAck sequence):
    # the sweeper asks the stream whether it is still there, and the
    # max-deliveries advisory names it. NULL until published.
    Column("render_seq", BigInteger, nullable=True),
    # How many times the request was published under a new Msg-Id (a lost
    # request is republished once, then the job fails).
    Column("render_publishes", Integer, nullable=False, default=0, server_default="0"),
    Column("render_checked_at", Float, nullable=True),  # last time the sweeper looked it up
    Column("render_gone_at", Float, nullable=True),  # when the sweeper first found it gone
)
Index("ix_jobs_unpublished", jobs.c.state, jobs.c.published_at)
Index("ix_jobs_render_seq", jobs.c.render_seq)
Index("ix_jobs_open", jobs.c.state, jobs.c.created_at)

# Notification targets: the REST API's "services".
destinations = Table(
    "destinations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("title", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

# One row per (snapshot, destination): the job output's delivery entries.
deliveries = Table(
    "deliveries",
    metadata,
    Column("snapshot_id", ForeignKey("snapshots.id"), primary_key=True),
    Column("service_id", String(32), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("position", Integer, nullable=False),
    # When its DeliveryRequest was queued (or last seen still on the delivery
    # stream): a pending delivery with no result past the delivery deadline,
    # whose request is gone from the stream, is marked failed.
    Column("dispatched_at", Float, nullable=True),
    Column("request_seq", BigInteger, nullable=True),  # the request's PubAck sequence
)
Index("ix_deliveries_pending", deliveries.c.state, deliveries.c.dispatched_at)

# Idempotency-Key of POST /v1/snapshots: one snapshot per (account, key) within
# the reuse window. The unique constraint settles concurrent duplicates.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_sha256", String(64), nullable=False),  # what the first request asked for
    Column("snapshot_id", ForeignKey("snapshots.id"), nullable=False),
    Column("created_at", Float, nullable=False, index=True),
    UniqueConstraint("account_id", "key", name="uq_idempotency_key"),
)



def bring_to_baseline(conn: Connection) -> list[str]:
    """Give a database made by create_all() before migrations existed every
    table, column and index of the baseline: create_all makes missing tables,
    not missing columns, so an older database gets the newer nullable (or
    server-defaulted) columns here. Returns the columns it added."""
    metadata.create_all(conn)
    added = []
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(conn.dialect)}"
            if column.server_default is not None:
                ddl += f" DEFAULT {column.server_default.arg} NOT NULL"
            conn.execute(text(ddl))
            added.append(f"{table.name}.{column.name}")
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    return added
