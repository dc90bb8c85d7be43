"""Snapshots and their jobs: validation, storage and the job state machine.

Job states move only forward (queued → working → complete | failed), so a
redelivered queue message repeats nothing and never moves a job back. Every
transition is either one UPDATE guarded by the state it expects, or, when it
reads before it writes, runs with the job's row locked first (`_lock_job`):
several snapshot_svc replicas may apply results for one job at once, on
PostgreSQL at READ COMMITTED as on SQLite."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Integer, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from chartsnap import errors, snapshot_options
from chartsnap.charts import CHART_TYPES, DEFAULT_SIZE, SIZE_RANGE
from chartsnap.errors import ParamErrors
from chartsnap.idempotency_key import REUSE_AFTER
from chartsnap.image_keys import new_image_key, share_token, share_token_if_any
from chartsnap.job_states import COMPLETE, FAILED, QUEUED, TERMINAL, WORKING
from snapshot_svc import annotation_rules
from snapshot_svc.database import NOT_STORABLE, RowLock, made_storable, storable, the_row
from snapshot_svc.pagination import Page
from snapshot_svc.tables import accounts, deliveries, idempotency_keys, jobs, snapshot_data, snapshots

MIN_DURATION = 60
MAX_DURATION = 31_622_400  # 366 days
MAX_FUTURE = 86_400
DEFAULT_DURATION = 3600
MAX_MESSAGE = 1000

RENDERED = 50.0  # progress once the image is stored; deliveries take it to 100


KEY_REUSED = "Idempotency-Key reused with a different request"


@dataclass(frozen=True)
class IdempotencyClaim:
    """An Idempotency-Key and what it asked for: the SHA-256 of the request
    as the caller sent it (so a default such as `end_time` = now compares
    equal on a retry)."""

    key: str
    request_sha256: str

    @classmethod
    def of(cls, key: str, request_bytes: bytes) -> "IdempotencyClaim":
        return cls(key, hashlib.sha256(request_bytes).hexdigest())


@dataclass(frozen=True)
class Transition:
    """What one job transition changed, so callers act on it (and metrics
    observe it) without reading the job again."""

    deliveries_pending: bool = False   # the image is stored; its deliveries must be queued
    completed_in: float | None = None  # seconds from creation, when this call completed the job


@dataclass(frozen=True)
class OpenJob:
    snapshot_id: int
    rendered: bool          # the image is stored; only deliveries are outstanding
    render_seq: int | None  # where its render request was put on the stream


@dataclass(frozen=True)
class QueuedDelivery:
    snapshot_id: int
    service_id: str
    request_seq: int | None  # where its DeliveryRequest was put on the delivery stream


@dataclass(frozen=True)
class PublishedRender:
    account_id: int
    snapshot_id: int
    seq: int                # stream sequence of the request
    publishes: int          # times it was put on the stream
    gone_since: float | None


@dataclass(frozen=True)
class FrozenData:
    """A snapshot_data row: the bucket size, the body (snapshot_svc.frozen_data) and when it was read."""

    resolution: int
    body: dict
    taken_at: float


@dataclass(frozen=True)
class SnapshotInput:
    chart_id: int
    chart_type: str
    duration: int | None = None
    end_time: float | None = None
    tags: tuple[dict, ...] = ()
    source: str | None = None
    services: tuple[str, ...] = ()
    message: str | None = None
    width: int | None = None
    height: int | None = None
    timezone: str | None = None
    scale: float | None = None
    theme: str | None = None
    annotations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidSnapshot:
    chart_id: int
    chart_type: str
    duration: int
    end_time: float
    tags: tuple[dict, ...]
    source: str | None
    services: tuple[str, ...]
    message: str | None
    width: int
    height: int
    timezone: str = snapshot_options.DEFAULT_TIMEZONE
    scale: float = snapshot_options.DEFAULT_SCALE
    theme: str = snapshot_options.DEFAULT_THEME
    annotations: tuple[str, ...] = ()  # stream names, or ("*",)

    @property
    def sources(self) -> list[str]:
        if self.source:
            return [self.source]
        values = [v for tag in self.tags for v in tag.get("values", [])]
        return values or ["*"]


def validate(data: SnapshotInput, now: float) -> ValidSnapshot:
    problems = ParamErrors()
    if data.chart_id <= 0:
        problems.add("subject", "chart id is required")
    if data.chart_type not in CHART_TYPES:
        problems.add("subject", f"chart type must be one of {', '.join(CHART_TYPES)}")
    duration = DEFAULT_DURATION if data.duration is None else data.duration
    if not MIN_DURATION <= duration <= MAX_DURATION:
        problems.add("duration", f"must be a whole number of seconds from {MIN_DURATION} to {MAX_DURATION}")
    end_time = now if data.end_time is None else data.end_time
    if end_time > now + MAX_FUTURE:
        problems.add("end_time", "must be no more than one day in the future")
    if end_time - duration < 0:
        problems.add("end_time", "must be after 1970 plus the duration")
    width = data.width or DEFAULT_SIZE[0]
    height = data.height or DEFAULT_SIZE[1]
    for name, value in (("width", width), ("height", height)):
        if not SIZE_RANGE[0] <= value <= SIZE_RANGE[1]:
            problems.add(name, f"must be from {SIZE_RANGE[0]} to {SIZE_RANGE[1]} pixels")
    if data.message is not None and len(data.message) > MAX_MESSAGE:
        problems.add("message", f"must be at most {MAX_MESSAGE} characters")
    elif not storable(data.message):
        problems.add("message", NOT_STORABLE)
    for i, tag in enumerate(data.tags):
        if not tag.get("name") or not tag.get("values"):
            problems.add(f"subject.chart.tags[{i}]", "needs a name and at least one value")
    if len(set(data.services)) != len(data.services):
        problems.add("services", "lists a service more than once")
    timezone = snapshot_options.DEFAULT_TIMEZONE if data.timezone is None else data.timezone
    scale = snapshot_options.DEFAULT_SCALE if data.scale is None else data.scale
    theme = snapshot_options.DEFAULT_THEME if data.theme is None else data.theme
    for name, problem in (("timezone", snapshot_options.timezone_problem(timezone)),
                          ("scale", snapshot_options.scale_problem(scale)),
                          ("theme", snapshot_options.theme_problem(theme))):
        if problem:
            problems.add(name, problem)
    annotations = annotation_rules.snapshot_streams(list(data.annotations), problems)
    problems.raise_if_any()
    return ValidSnapshot(
        data.chart_id, data.chart_type, duration, float(int(end_time)), data.tags, data.source or None,
        data.services, data.message, width, height, timezone, float(scale), theme, tuple(annotations),
    )


def chart_name_of(chart_name: str | None, chart_id: int) -> str:
    """The chart's name as a snapshot shows it: the name when it was taken,
    or, for a snapshot taken before names were kept, its number."""
    return chart_name or f"Chart {chart_id}"


# What a list of snapshots shows of each (ListSnapshots): the whole row but
# what only one snapshot's own reads need (its narrowing, services, message,
# taker...), whose JSON a page of a hundred would decode for nothing.
LISTED_COLUMNS = (snapshots.c.id, snapshots.c.chart_id, snapshots.c.chart_type, snapshots.c.duration,
                  snapshots.c.end_time, snapshots.c.created_at, snapshots.c.updated_at, snapshots.c.sources,
                  snapshots.c.width, snapshots.c.height, snapshots.c.image_key, snapshots.c.image_ready,
                  snapshots.c.timezone, snapshots.c.scale, snapshots.c.theme, snapshots.c.annotations,
                  snapshots.c.summary, snapshots.c.png_sha256)


def _listed_out(row: Any, job_id: int) -> dict:
    """A snapshot as a list shows it (a row of LISTED_COLUMNS, or more)."""
    return {
        "id": row.id, "job_id": job_id, "chart_id": row.chart_id, "chart_type": row.chart_type,
        "duration": row.duration, "end_time": row.end_time, "created_at": row.created_at,
        "updated_at": row.updated_at, "sources": list(row.sources), "width": row.width,
        "height": row.height, "image_key": row.image_key if row.image_ready else None,
        "share_token": share_token_if_any(row.image_key),
        **_options_out(row),
    }


def _snapshot_out(row: Any, job_id: int) -> dict:
    return {
        **_listed_out(row, job_id),
        "services": list(row.services), "message": row.message,
        "narrowing": dict(row.narrowing), "account_id": row.account_id,
        "chart_name": row.chart_name, "request_id": row.request_id,
    }


def _options_out(row: Any) -> dict:
    """The drawing options, the summary and the PNG's digest; a snapshot made
    before options were kept reads as the defaults it was drawn with."""
    return {
        "timezone": row.timezone or snapshot_options.DEFAULT_TIMEZONE,
        "scale": row.scale or snapshot_options.DEFAULT_SCALE,
        "theme": row.theme or snapshot_options.DEFAULT_THEME,
        "annotations": list(row.annotations or []), "summary": row.summary or "", "png_sha256": row.png_sha256,
    }


# What a share page may show of a snapshot's state (SharedSnapshot.State).
SHARE_PENDING, SHARE_RENDERED, SHARE_FAILED = "pending", "rendered", "failed"


@dataclass
class JobView:
    id: int
    snapshot_id: int
    state: str
    progress: float
    errors: list[str] = field(default_factory=list)
    image_key: str | None = None
    deliveries: list[dict] = field(default_factory=list)


# The statements every snapshot runs (taken, frozen, published, started,
# rendered, polled), built once with their values bound at execution, as
# rollup_store's reads are: building one costs more than SQLite's running it.
# Bound names are b_*: SQLAlchemy keeps column names for SET and VALUES.
_SNAPSHOT = bindparam("b_snapshot_id")
_NOW = bindparam("b_now")
_INSERT_SNAPSHOT, _INSERT_JOB, _INSERT_DATA = insert(snapshots), insert(jobs), insert(snapshot_data)
_SET_IMAGE_KEY = update(snapshots).where(snapshots.c.id == _SNAPSHOT).values(image_key=bindparam("b_image_key"))
_SET_SUMMARY = (update(snapshots).where(snapshots.c.id == _SNAPSHOT)
                .values(summary=bindparam("b_summary"), updated_at=_NOW))
_JOB_LOCK = RowLock.of(jobs, jobs.c.snapshot_id == _SNAPSHOT)
_PUBLISHED_AT = (update(jobs).where(jobs.c.snapshot_id == _SNAPSHOT)
                 .values(published_at=_NOW, render_seq=bindparam("b_seq"), render_checked_at=None,
                         render_gone_at=None,
                         render_publishes=case((jobs.c.render_publishes == 0, 1), else_=jobs.c.render_publishes)))
_STARTED = (update(jobs).where(jobs.c.snapshot_id == _SNAPSHOT, jobs.c.state == QUEUED)
            .values(state=WORKING, progress=10.0, updated_at=_NOW))
_PENDING_DELIVERIES = (select(func.count()).select_from(deliveries)
                       .where(deliveries.c.snapshot_id == _SNAPSHOT, deliveries.c.state == "pending"))
# A digest only when the result carries one (None keeps what is stored).
_IMAGE_STORED = (update(snapshots).where(snapshots.c.id == _SNAPSHOT, snapshots.c.image_key == bindparam("b_image_key"))
                 .values(image_ready=True, updated_at=_NOW,
                         png_sha256=func.coalesce(bindparam("b_png_sha256"), snapshots.c.png_sha256)))
_RENDERED = (update(jobs).where(jobs.c.snapshot_id == _SNAPSHOT, jobs.c.state.in_((QUEUED, WORKING)),
                                jobs.c.progress < RENDERED)
             .values(state=bindparam("b_state"), progress=bindparam("b_progress"), updated_at=_NOW))
_SNAPSHOT_WITH_JOB = (select(snapshots, jobs.c.id.label("job_id")).join(jobs, jobs.c.snapshot_id == snapshots.c.id)
                      .where(snapshots.c.id == _SNAPSHOT))
_ACCOUNTS_SNAPSHOT = _SNAPSHOT_WITH_JOB.where(snapshots.c.account_id == bindparam("b_account_id"))
# A job, its image and its deliveries in one statement (a client polls it):
# a row per delivery, or one with no delivery (NULL service) when it has none.
_ACCOUNTS_JOB = (select(jobs.c.id, jobs.c.snapshot_id, jobs.c.state, jobs.c.progress, jobs.c.errors,
                        snapshots.c.image_key, snapshots.c.image_ready, deliveries.c.service_id,
                        deliveries.c.type.label("delivery_type"), deliveries.c.state.label("delivery_state"),
                        deliveries.c.attempts.label("delivery_attempts"), deliveries.c.error.label("delivery_error"))
                 .join(snapshots, snapshots.c.id == jobs.c.snapshot_id)
                 .outerjoin(deliveries, deliveries.c.snapshot_id == jobs.c.snapshot_id)
                 .where(jobs.c.id == bindparam("b_job_id"), jobs.c.account_id == bindparam("b_account_id"))
                 .order_by(deliveries.c.position))

# A list page (a client following its snapshots reads one every few hundred ms).
_COUNT_ACCOUNTS_SNAPSHOTS = (select(func.count()).select_from(snapshots)
                             .where(snapshots.c.account_id == bindparam("b_account_id")))


@functools.lru_cache(maxsize=16)  # one per order the API offers (pagination.page_from checks it): a few
def _list_page(orderby: str, descending: bool) -> Any:
    order = snapshots.c[orderby]
    return (select(*LISTED_COLUMNS, jobs.c.id.label("job_id")).join(jobs, jobs.c.snapshot_id == snapshots.c.id)
            .where(snapshots.c.account_id == bindparam("b_account_id"))
            .order_by(order.desc() if descending else order.asc())
            .offset(bindparam("b_offset", type_=Integer)).limit(bindparam("b_limit", type_=Integer)))


class SnapshotStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, account_id: int, snap: ValidSnapshot, now: float,
               service_types: dict[str, str] | None = None, idempotency: IdempotencyClaim | None = None,
               *, chart_name: str | None = None, request_id: str | None = None) -> dict:
        """Store the snapshot, its queued job and one pending delivery per service
        (and its idempotency key: a concurrent duplicate makes this raise
        IntegrityError and stores nothing — read the winner with `replay`).
        `chart_name` is the chart's name now (kept: the share page outlives
        renames and deletes); `request_id` the X-Request-Id of the call."""
        with self.engine.begin() as conn:
            snapshot_id = conn.execute(_INSERT_SNAPSHOT, dict(
                account_id=account_id, chart_id=snap.chart_id, chart_type=snap.chart_type,
                duration=snap.duration, end_time=snap.end_time, width=snap.width, height=snap.height,
                sources=snap.sources, narrowing={"tags": list(snap.tags), "source": snap.source},
                services=list(snap.services), message=snap.message,
                image_key=f"pending/{secrets.token_hex(16)}", image_ready=False,
                created_at=now, updated_at=now, chart_name=chart_name, request_id=request_id,
                timezone=snap.timezone, scale=snap.scale, theme=snap.theme, annotations=list(snap.annotations),
            )).inserted_primary_key[0]
            image_key = new_image_key(snapshot_id)
            conn.execute(_SET_IMAGE_KEY, {"b_snapshot_id": snapshot_id, "b_image_key": image_key})
            job_id = conn.execute(_INSERT_JOB, dict(
                account_id=account_id, snapshot_id=snapshot_id, state=QUEUED, progress=0.0,
                errors=[], published_at=None, created_at=now, updated_at=now,
            )).inserted_primary_key[0]
            if snap.services:
                conn.execute(insert(deliveries), [
                    {"snapshot_id": snapshot_id, "service_id": sid, "type": (service_types or {})[sid],
                     "state": "pending", "attempts": 0, "error": None, "position": i}
                    for i, sid in enumerate(snap.services)
                ])
            if idempotency is not None:
                conn.execute(idempotency_keys.delete().where(
                    idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == idempotency.key,
                    idempotency_keys.c.created_at <= now - REUSE_AFTER))
                conn.execute(insert(idempotency_keys).values(
                    account_id=account_id, key=idempotency.key, request_sha256=idempotency.request_sha256,
                    snapshot_id=snapshot_id, created_at=now))
        # What get() would read back, without reading it back.
        return {
            "id": snapshot_id, "job_id": job_id, "chart_id": snap.chart_id, "chart_type": snap.chart_type,
            "duration": snap.duration, "end_time": snap.end_time, "created_at": now, "updated_at": now,
            "sources": snap.sources, "width": snap.width, "height": snap.height, "image_key": None,
            "services": list(snap.services), "message": snap.message,
            "narrowing": {"tags": list(snap.tags), "source": snap.source}, "account_id": account_id,
            "chart_name": chart_name, "request_id": request_id, "share_token": share_token(image_key),
            "assigned_image_key": image_key, "timezone": snap.timezone, "scale": snap.scale, "theme": snap.theme,
            "annotations": list(snap.annotations), "summary": "", "png_sha256": None,
        }

    def replay(self, account_id: int, claim: IdempotencyClaim, now: float) -> dict | None:
        """The snapshot this key made within the reuse window, if any; a
        different request under the same key is refused."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(idempotency_keys.c.request_sha256, idempotency_keys.c.snapshot_id)
                .where(idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == claim.key,
                       idempotency_keys.c.created_at > now - REUSE_AFTER)
            ).first()
        if row is None:
            return None
        if not hmac.compare_digest(row.request_sha256, claim.request_sha256):
            raise errors.AlreadyExists(KEY_REUSED)
        return self.get(account_id, row.snapshot_id)

    def forget_idempotency_keys(self, created_before: float) -> int:
        """Drop keys past the reuse window (the sweeper calls this)."""
        with self.engine.begin() as conn:
            return conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at <= created_before)).rowcount

    def get(self, account_id: int | None, snapshot_id: int) -> dict:
        query, params = _SNAPSHOT_WITH_JOB, {"b_snapshot_id": snapshot_id}
        if account_id is not None:
            query, params = _ACCOUNTS_SNAPSHOT, {**params, "b_account_id": account_id}
        with self.engine.connect() as conn:
            row = the_row(conn, query, "snapshot", params)
        out = _snapshot_out(row, row.job_id)
        # The key chosen at creation, which the render writes to; "image_key"
        # is set only once that image is stored.
        out["assigned_image_key"] = row.image_key
        return out

    def list(self, account_id: int, page: Page) -> tuple[int, list[dict]]:
        params = {"b_account_id": account_id, "b_offset": page.offset, "b_limit": page.length}
        with self.engine.connect() as conn:
            total = conn.execute(_COUNT_ACCOUNTS_SNAPSHOTS, params).scalar_one()
            rows = conn.execute(_list_page(page.orderby, page.descending), params).all()
        return total, [_listed_out(r, r.job_id) for r in rows]

    def shared(self, image_key: str) -> dict:
        """The snapshot whose image key this is, as its public share page shows
        it, whoever's it is (NotFound otherwise): found by snapshots.image_key,
        unique and indexed, so only the row holding this whole secret answers.
        A key not yet stored reads as pending, since the key is chosen when the
        snapshot is created and never changes."""
        query = (select(snapshots.c.id, snapshots.c.chart_id, snapshots.c.chart_type, snapshots.c.chart_name,
                        snapshots.c.duration, snapshots.c.end_time, snapshots.c.created_at, snapshots.c.width,
                        snapshots.c.height, snapshots.c.message, snapshots.c.image_key, snapshots.c.image_ready,
                        snapshots.c.summary, jobs.c.state, accounts.c.full_name)
                 .join(jobs, jobs.c.snapshot_id == snapshots.c.id)
                 .join(accounts, accounts.c.id == snapshots.c.account_id)
                 .where(snapshots.c.image_key == image_key))
        with self.engine.connect() as conn:
            row = the_row(conn, query, "snapshot")
        if row.image_ready:
            state = SHARE_RENDERED
        elif row.state == FAILED:
            state = SHARE_FAILED
        else:
            state = SHARE_PENDING
        return {
            "id": row.id, "state": state, "share_token": share_token(row.image_key),
            "image_key": row.image_key if row.image_ready else None,
            "chart_id": row.chart_id, "chart_type": row.chart_type,
            "chart_name": chart_name_of(row.chart_name, row.chart_id),
            "duration": row.duration, "end_time": row.end_time, "created_at": row.created_at,
            "width": row.width, "height": row.height, "message": row.message or "",
            "taken_by_name": row.full_name or "", "summary": row.summary or "",
        }

    # -- the data behind the picture, frozen when the snapshot is taken ------
    def frozen(self, snapshot_id: int) -> FrozenData | None:
        """The data the snapshot's image is drawn from, once frozen."""
        with self.engine.connect() as conn:
            row = conn.execute(select(snapshot_data).where(snapshot_data.c.snapshot_id == snapshot_id)).first()
        return None if row is None else FrozenData(row.resolution, row.body, row.created_at)

    def freeze(self, snapshot_id: int, data: FrozenData, summary: str) -> FrozenData:
        """Store the data and its summary in one transaction, once: whoever
        froze it first (another replica's sweeper, say) wins, and what was
        stored is returned, so every copy of the render request is drawn
        from the same data."""
        try:
            with self.engine.begin() as conn:
                conn.execute(_INSERT_DATA, dict(snapshot_id=snapshot_id, resolution=data.resolution, body=data.body,
                                                created_at=data.taken_at))
                conn.execute(_SET_SUMMARY, {"b_snapshot_id": snapshot_id, "b_summary": made_storable(summary),
                                            "b_now": data.taken_at})
        except IntegrityError:
            if (stored := self.frozen(snapshot_id)) is None:
                raise
            return stored
        return data

    def data(self, account_id: int, snapshot_id: int) -> dict:
        """The account's snapshot's frozen data, its summary and PNG digest
        (NotFound for another account's snapshot, as for one not frozen yet)."""
        query = (select(snapshot_data, snapshots.c.summary, snapshots.c.png_sha256, snapshots.c.image_ready)
                 .join(snapshots, snapshots.c.id == snapshot_data.c.snapshot_id)
                 .where(snapshot_data.c.snapshot_id == snapshot_id, snapshots.c.account_id == account_id))
        with self.engine.connect() as conn:
            row = the_row(conn, query, "snapshot data")
        return {"snapshot_id": snapshot_id, "resolution": row.resolution, "body": row.body,
                "taken_at": row.created_at, "summary": row.summary or "",
                "png_sha256": row.png_sha256 if row.image_ready else None}

    def get_job(self, account_id: int, job_id: int) -> JobView:
        with self.engine.connect() as conn:
            rows = conn.execute(_ACCOUNTS_JOB, {"b_job_id": job_id, "b_account_id": account_id}).all()
        if not rows:
            raise errors.NotFound("job not found")
        row = rows[0]
        return JobView(row.id, row.snapshot_id, row.state, row.progress, list(row.errors),
                       row.image_key if row.image_ready else None,
                       [{"service_id": d.service_id, "type": d.delivery_type, "state": d.delivery_state,
                         "attempts": d.delivery_attempts, "error": d.delivery_error or ""}
                        for d in rows if d.service_id is not None])

    # -- queue bookkeeping ---------------------------------------------------
    def mark_published(self, snapshot_id: int, now: float, seq: int | None = None) -> None:
        """The render request is on the stream at `seq` (its PubAck sequence)."""
        with self.engine.begin() as conn:
            if seq is None:
                conn.execute(update(jobs).where(jobs.c.snapshot_id == snapshot_id).values(published_at=now))
            else:
                conn.execute(_PUBLISHED_AT, {"b_snapshot_id": snapshot_id, "b_now": now, "b_seq": seq})

    def unpublished(self, older_than: float, limit: int = 100) -> list[tuple[int, int]]:
        """(account_id, snapshot_id) of queued jobs whose render request never reached the queue."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.account_id, jobs.c.snapshot_id)
                .where(*self._unpublished(older_than))
                .order_by(jobs.c.created_at)
                .limit(limit)
            ).all()
        return [(r.account_id, r.snapshot_id) for r in rows]

    @staticmethod
    def _unpublished(older_than: float) -> list[Any]:
        return [jobs.c.state == QUEUED, jobs.c.published_at.is_(None), jobs.c.created_at < older_than]

    def claim_unpublished(self, older_than: float, now: float, lease: float,
                          limit: int = 100) -> list[tuple[int, int]]:
        """Like `unpublished`, but each job is handed to one caller: the batch
        is taken with SELECT ... FOR UPDATE SKIP LOCKED (rows another replica
        is claiming are passed over, not waited for) and held until
        `now + lease` by a committed lease (jobs.sweep_claimed_until) that
        other callers respect. A replica that dies holding it loses it when
        the lease runs out; `release_claim` gives one back sooner."""
        free = or_(jobs.c.sweep_claimed_until.is_(None), jobs.c.sweep_claimed_until <= now)
        batch = (select(jobs.c.id).where(*self._unpublished(older_than), free)
                 .order_by(jobs.c.created_at).limit(limit).with_for_update(skip_locked=True))
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(jobs).where(jobs.c.id.in_(batch.scalar_subquery()), free)
                .values(sweep_claimed_until=now + lease)
                .returning(jobs.c.account_id, jobs.c.snapshot_id, jobs.c.created_at)
            ).all()
        return [(r.account_id, r.snapshot_id) for r in sorted(rows, key=lambda r: r.created_at)]

    def release_claim(self, snapshot_id: int) -> None:
        """Its publish failed: the next sweep (of any replica) may try again."""
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.snapshot_id == snapshot_id).values(sweep_claimed_until=None))

    # -- bounds: every job terminal by its deadline (see sweeping.Sweeper) --
    # Each action below is one UPDATE guarded by the state it expects, so two
    # sweepers (two snapshot_svc replicas) never both act on one job: the one
    # whose UPDATE matched a row (rowcount 1) owns the action.

    def open_jobs_created_before(self, created_before: float, limit: int = 100) -> list[OpenJob]:
        """Jobs not terminal although created before `created_before`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.snapshot_id, jobs.c.progress, jobs.c.render_seq)
                .where(jobs.c.state.in_((QUEUED, WORKING)), jobs.c.created_at < created_before)
                .order_by(jobs.c.created_at).limit(limit)
            ).all()
        return [OpenJob(r.snapshot_id, r.progress >= RENDERED, r.render_seq) for r in rows]

    def requests_to_check(self, published_before: float, checked_before: float,
                          limit: int = 100) -> list[PublishedRender]:
        """Unrendered jobs whose request has been on the stream since before
        `published_before` and was not looked up since `checked_before`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(jobs.c.account_id, jobs.c.snapshot_id, jobs.c.render_seq, jobs.c.render_publishes,
                       jobs.c.render_gone_at)
                .where(jobs.c.state.in_((QUEUED, WORKING)), jobs.c.progress < RENDERED,
                       jobs.c.render_seq.is_not(None), jobs.c.published_at < published_before,
                       func.coalesce(jobs.c.render_checked_at, 0.0) < checked_before)
                .order_by(func.coalesce(jobs.c.render_checked_at, 0.0), jobs.c.created_at).limit(limit)
            ).all()
        return [PublishedRender(r.account_id, r.snapshot_id, r.render_seq, r.render_publishes, r.render_gone_at)
                for r in rows]

    def request_seen(self, snapshot_id: int, seq: int, present: bool, now: float) -> float | None:
        """Record a look-up of the request at `seq`; when it is gone, return
        since when (the first look-up that missed it)."""
        values: dict[str, Any] = {"render_checked_at": now}
        values["render_gone_at"] = func.coalesce(jobs.c.render_gone_at, now) if not present else None
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.snapshot_id == snapshot_id, jobs.c.render_seq == seq)
                         .values(**values))
            if present:
                return None
            return conn.execute(select(jobs.c.render_gone_at).where(jobs.c.snapshot_id == snapshot_id,
                                                                   jobs.c.render_seq == seq)).scalar()

    def claim_republish(self, snapshot_id: int, seq: int, publishes: int) -> bool:
        """Take the right to publish the request again (True for one caller only)."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(jobs).where(jobs.c.snapshot_id == snapshot_id, jobs.c.render_seq == seq,
                                   jobs.c.render_publishes == publishes, jobs.c.state.in_((QUEUED, WORKING)),
                                   jobs.c.progress < RENDERED)
                .values(render_publishes=publishes + 1, render_gone_at=None, render_checked_at=None)
            ).rowcount == 1

    def undo_republish(self, snapshot_id: int, seq: int, publishes: int) -> None:
        """The republish claimed by claim_republish did not reach the queue: the next sweep tries again."""
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.snapshot_id == snapshot_id, jobs.c.render_seq == seq,
                                            jobs.c.render_publishes == publishes + 1)
                         .values(render_publishes=publishes))

    def open_snapshot_at_seq(self, seq: int) -> int | None:
        """The unrendered job whose request was put at `seq`, if exactly one
        is (sequences repeat when a stream is made again)."""
        with self.engine.connect() as conn:
            ids = conn.execute(select(jobs.c.snapshot_id).where(
                jobs.c.render_seq == seq, jobs.c.state.in_((QUEUED, WORKING)), jobs.c.progress < RENDERED)
                .limit(2)).scalars().all()
        return ids[0] if len(ids) == 1 else None

    def mark_dispatched(self, snapshot_id: int, request_seqs: dict[str, int], now: float) -> None:
        """Their DeliveryRequests are queued at these stream sequences: the
        delivery deadline runs from the first time (a redispatch keeps it).
        The job's row is locked first, as by every transition that writes
        several of its deliveries, so they are always locked in one order."""
        with self.engine.begin() as conn:
            self._lock_job(conn, snapshot_id)
            for service_id, seq in request_seqs.items():
                conn.execute(update(deliveries).where(deliveries.c.snapshot_id == snapshot_id,
                                                      deliveries.c.service_id == service_id,
                                                      deliveries.c.state == "pending")
                             .values(request_seq=seq, dispatched_at=func.coalesce(deliveries.c.dispatched_at, now)))

    def deliveries_dispatched_before(self, dispatched_before: float, limit: int = 100) -> list[QueuedDelivery]:
        """Pending deliveries queued (or last seen queued) before `dispatched_before`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.snapshot_id, deliveries.c.service_id, deliveries.c.request_seq)
                .where(deliveries.c.state == "pending", deliveries.c.dispatched_at < dispatched_before)
                .order_by(deliveries.c.dispatched_at).limit(limit)
            ).all()
        return [QueuedDelivery(r.snapshot_id, r.service_id, r.request_seq) for r in rows]

    def delivery_still_queued(self, snapshot_id: int, service_id: str, now: float) -> None:
        """Its request is still on the delivery stream (queued, or in a notifier's
        hands): give it another delivery deadline; the job deadline still holds."""
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.snapshot_id == snapshot_id,
                                                  deliveries.c.service_id == service_id,
                                                  deliveries.c.state == "pending")
                         .values(dispatched_at=now))

    def fail_pending_deliveries(self, snapshot_id: int, reason: str, now: float) -> int:
        """End every delivery still pending as failed, and so complete the
        rendered job (also one left open with nothing pending, rather than
        look at it forever). Returns how many it ended."""
        with self.engine.begin() as conn:
            job = self._lock_job(conn, snapshot_id)
            if job is None or job.state in TERMINAL or job.progress < RENDERED:
                return 0
            ended = conn.execute(
                update(deliveries).where(deliveries.c.snapshot_id == snapshot_id, deliveries.c.state == "pending")
                .values(state="failed", attempts=0, error=reason or None)
            ).rowcount
            self._advance(conn, snapshot_id, job, now)
        return ended

    # -- job transitions (idempotent) -----------------------------------------
    def render_started(self, snapshot_id: int, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(_STARTED, {"b_snapshot_id": snapshot_id, "b_now": now})

    @staticmethod
    def _lock_job(conn: Any, snapshot_id: int) -> Any:
        """The job's row, held until the transaction ends (database.lock_row):
        every transition that reads the job (or its deliveries) and then
        writes takes it first, so concurrent results for one job take turns."""
        return _JOB_LOCK.take(conn, {"b_snapshot_id": snapshot_id})

    def render_succeeded(self, snapshot_id: int, image_key: str, now: float,
                         png_sha256: str | None = None) -> Transition:
        """Record the stored image (and its digest, when the result carries
        one); deliveries_pending when they must now be queued. A job already
        failed (its deadline passed) stays failed, without an image."""
        with self.engine.begin() as conn:
            job = self._lock_job(conn, snapshot_id)
            if job is None or job.state == FAILED:
                return Transition()
            params = {"b_snapshot_id": snapshot_id, "b_now": now}
            deliveries_pending = conn.execute(_PENDING_DELIVERIES, params).scalar_one() > 0
            conn.execute(_IMAGE_STORED, {**params, "b_image_key": image_key, "b_png_sha256": png_sha256 or None})
            # A result seen again (its dispatch of deliveries failed) moves
            # nothing, yet still reports the pending deliveries to queue.
            changed = conn.execute(_RENDERED, {
                **params, "b_state": WORKING if deliveries_pending else COMPLETE,
                "b_progress": RENDERED if deliveries_pending else 100.0,
            }).rowcount == 1
        completed = changed and not deliveries_pending
        return Transition(deliveries_pending, max(0.0, now - job.created_at) if completed else None)

    def pending_deliveries(self, snapshot_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(deliveries.c.service_id).where(deliveries.c.snapshot_id == snapshot_id,
                                                      deliveries.c.state == "pending")
                .order_by(deliveries.c.position)
            ).scalars())

    def delivery_ended(self, snapshot_id: int, service_id: str, state: str, attempts: int, error: str,
                       now: float) -> Transition:
        """Record one destination's outcome (first report wins); the job completes
        once every delivery has ended, and progress rises with each."""
        with self.engine.begin() as conn:
            job = self._lock_job(conn, snapshot_id)
            if job is None:
                return Transition()
            conn.execute(
                update(deliveries).where(deliveries.c.snapshot_id == snapshot_id,
                                         deliveries.c.service_id == service_id, deliveries.c.state == "pending")
                .values(state=state, attempts=attempts, error=made_storable(error) or None)
            )
            return self._advance(conn, snapshot_id, job, now)

    @staticmethod
    def _advance(conn: Any, snapshot_id: int, job: Any, now: float) -> Transition:
        """Set the locked job's progress from its deliveries: complete once every one has ended."""
        states = list(conn.execute(
            select(deliveries.c.state).where(deliveries.c.snapshot_id == snapshot_id)).scalars())
        ended = sum(1 for s in states if s != "pending")
        if ended == len(states):
            values = {"state": COMPLETE, "progress": 100.0}
        else:
            values = {"state": WORKING, "progress": RENDERED + (100.0 - RENDERED) * ended / len(states)}
        # Terminal jobs never match, so only one call completes a job.
        changed = conn.execute(
            update(jobs).where(jobs.c.snapshot_id == snapshot_id, jobs.c.state.notin_(TERMINAL),
                               jobs.c.progress <= values["progress"])
            .values(updated_at=now, **values)
        ).rowcount == 1
        if not (changed and values["state"] == COMPLETE):
            return Transition()
        return Transition(completed_in=max(0.0, now - job.created_at))

    def render_failed(self, snapshot_id: int, error: str, now: float, render_seq: int | None = None) -> bool:
        """Fail the job — unless its image is already stored (a late FAILED after a
        SUCCEEDED, e.g. when an ack was lost, must not undo a finished render).
        With `render_seq`, only while that is still its request's sequence (news
        about a copy since replaced changes nothing). True when this call failed it."""
        guard = [jobs.c.snapshot_id == snapshot_id, jobs.c.state.in_((QUEUED, WORKING)), jobs.c.progress < RENDERED]
        if render_seq is not None:
            guard.append(jobs.c.render_seq == render_seq)
        with self.engine.begin() as conn:
            return conn.execute(
                update(jobs).where(*guard).values(state=FAILED, errors=[error], updated_at=now)
            ).rowcount == 1

