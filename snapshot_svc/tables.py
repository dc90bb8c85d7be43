"""The tables this service owns (see docs/ARCHITECTURE.md), at the migrations'
head: SQLAlchemy Core, so SQLite (default) and PostgreSQL run the same
statements. A change here is a new revision under snapshot_svc/migrations
(tests/integration/test_migrations.py fails while they differ).

Every query that can grow has an index that serves it (its filter, then its
order, so a page is read without sorting the account's rows); the comment
above each index names its query. tests/integration/test_postgres_store.py
checks PostgreSQL's plan of each."""

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

from snapshot_svc import rollup_rules

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")
# A name the API sorts by (orderby=name, title): compared bytewise, as SQLite
# does, whatever collation the PostgreSQL database was created with.
SortedName = String(255).with_variant(String(255, collation="C"), "postgresql")

EMAIL_LENGTH = 320      # RFC 5321's longest address
FULL_NAME_LENGTH = 200

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(EMAIL_LENGTH), nullable=False, unique=True),
    Column("full_name", String(FULL_NAME_LENGTH), nullable=False, default=""),
    # SHA-256 of the API token: tokens are long and random, so a fast digest is
    # enough and keeps authentication off the slow-hash path.
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("disabled_at", Float, nullable=True),  # set by `chartsnap user disable`: its token is refused
)

spaces = Table(
    "spaces",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", SortedName, nullable=False),
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
    # SHA-256 of `tags`: the unique key holds the digest, not the text, since
    # 50 tags of 255 characters outgrow a PostgreSQL index entry (8 KB).
    Column("tags_sha256", String(64), nullable=False),
    # Which API wrote it: tagged (POST /v1/measurements) or legacy (POST /v1/metrics).
    # A legacy series' digest covers its origin, so the two never share a row.
    Column("origin", String(8), nullable=False, server_default="tagged"),
    # Also serves "the account's series of one metric" (its first two columns).
    UniqueConstraint("account_id", "metric", "tags_sha256", name="uq_series_tags"),
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
    Column("stddev", Float, nullable=True),  # population standard deviation a summary reported
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
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
    # The chart's name when taken (its share page outlives renames and deletes).
    Column("chart_name", String(255), nullable=True),
    # X-Request-Id of the call that took it: carried on every message about it.
    Column("request_id", String(64), nullable=True),
    # Drawing options chosen at creation (NULL on older snapshots: UTC, 1, light, none).
    Column("timezone", String(64), nullable=True),
    Column("scale", Float, nullable=True),
    Column("theme", String(8), nullable=True),
    Column("annotations", JSON, nullable=True),  # annotation stream names, or ["*"]
    # One line about the data, computed from snapshot_data when it is frozen.
    Column("summary", Text, nullable=True),
    Column("png_sha256", String(64), nullable=True),  # set when the image is stored
)
# An account's snapshots, a page at a time, in each order the API offers
# (ListSnapshots orderby id | created_at | end_time).
Index("ix_snapshots_account_id", snapshots.c.account_id, snapshots.c.id)
Index("ix_snapshots_account_created", snapshots.c.account_id, snapshots.c.created_at)
Index("ix_snapshots_account_end", snapshots.c.account_id, snapshots.c.end_time)

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
    # Until when one replica's sweeper holds the job to publish its request
    # (SnapshotStore.claim_unpublished): another replica skips it until then,
    # and takes it over if the first died holding it.
    Column("sweep_claimed_until", Float, nullable=True),
)
# The sweeper: queued jobs never published, oldest first (claim_unpublished).
Index("ix_jobs_unpublished", jobs.c.state, jobs.c.published_at, jobs.c.created_at)
# The max-deliveries advisory names a stream sequence (open_snapshot_at_seq).
Index("ix_jobs_render_seq", jobs.c.render_seq)
# The sweeper: open jobs past their deadline, oldest first; requests to look up.
Index("ix_jobs_open", jobs.c.state, jobs.c.created_at)

# The data a snapshot's image is drawn from, frozen when it is taken
# (GET /v1/snapshots/:id/data answers it, never a fresh query).
snapshot_data = Table(
    "snapshot_data",
    metadata,
    Column("snapshot_id", ForeignKey("snapshots.id"), primary_key=True),
    Column("resolution", Integer, nullable=False),
    Column("body", JSON, nullable=False),  # series, labels, window, units, big value
    Column("created_at", Float, nullable=False),
)

# Librato's metric metadata: GET /v1/metrics lists it, GET /v1/metrics/:name describes one.
metrics = Table(
    "metrics",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", SortedName, nullable=False),  # lower-cased, as series.metric
    Column("type", String(16), nullable=False),  # gauge | counter | composite
    Column("display_name", String(255), nullable=True),
    Column("description", Text, nullable=True),
    Column("period", Integer, nullable=True),  # seconds between samples, as the client declared
    Column("attributes", JSON, nullable=False),  # display_units_short, color, ...
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Also serves GET /v1/metrics: an account's metrics in name order.
    UniqueConstraint("account_id", "name", name="uq_metric_name"),
)

# Librato's annotation streams and their events (/v1/annotations).
annotation_streams = Table(
    "annotation_streams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", SortedName, nullable=False),
    Column("display_name", String(255), nullable=True),
    Column("description", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    # Also serves GET /v1/annotations: an account's streams in name order.
    UniqueConstraint("account_id", "name", name="uq_annotation_stream_name"),
)

annotation_events = Table(
    "annotation_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("stream_id", ForeignKey("annotation_streams.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("source", String(255), nullable=True),
    Column("start_time", BigInteger, nullable=False),  # epoch seconds
    Column("end_time", BigInteger, nullable=True),
    Column("links", JSON, nullable=False),  # [{"rel", "href", "label"}]
    Column("created_at", Float, nullable=False),
)
# A stream's events in a window (GET /v1/annotations/:name, a snapshot's markers).
Index("ix_annotation_events_stream_start", annotation_events.c.stream_id, annotation_events.c.start_time)

# Notification targets: the REST API's "services".
destinations = Table(
    "destinations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("title", SortedName, nullable=False),
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



def _rollup(name: str) -> Table:
    """A rollup of `points` into buckets of one width (snapshot_svc.rollup_rules:
    what each column holds, how rows fold and how reads use them)."""
    return Table(
        name,
        metadata,
        Column("series_id", ForeignKey("series.id"), primary_key=True),
        Column("bucket_start", BigInteger, primary_key=True),  # epoch seconds, a multiple of the width
        *[Column(field, BigInteger if field in rollup_rules.INTEGER_FIELDS else Float, nullable=False)
          for field in rollup_rules.FIELDS],
    )


# Rollups of `points` (snapshot_svc.rollup_store), kept in the same transaction
# as the points; read by (series, bucket_start) ranges, their primary key.
rollup_minutes = _rollup("rollup_minutes")
rollup_hours = _rollup("rollup_hours")
rollup_days = _rollup("rollup_days")  # UTC days

# Per resolution (raw, minute, hour, day), the time before which its rows were
# deleted by retention (set before deleting): a read takes those times from
# the next coarser resolution.
retention_marks = Table(
    "retention_marks",
    metadata,
    Column("level", String(8), primary_key=True),
    Column("expired_before", BigInteger, nullable=False),
)
