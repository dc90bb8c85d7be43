"""The tables this service owns (see docs/ARCHITECTURE.md). SQLAlchemy Core, so
SQLite (default) and PostgreSQL run the same statements."""

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
)

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
)
Index("ix_jobs_unpublished", jobs.c.state, jobs.c.published_at)

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
)
