"""The snapshot service's stores on a real PostgreSQL (a throwaway cluster,
devstack.postgres) and on SQLite: the same code, the same answers; results
applied by several replicas at once move a job only forward and the last
delivery always completes it; two sweepers publish each stale job once; the
pool reads its settings.

The races run threads against PostgreSQL at READ COMMITTED, its default,
through two engines (two replicas' pools)."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections import Counter
from typing import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chartsnap import errors, queue
from chartsnap.job_states import COMPLETE, FAILED
from devstack.postgres import ThrowawayPostgres
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.database import PoolSize, make_engine
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.jobs import Jobs
from snapshot_svc.measurements import MeasurementStore, validate_samples
from snapshot_svc.pagination import Page
from snapshot_svc.render_queue import RenderQueue
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshots import IdempotencyClaim, SnapshotInput, SnapshotStore, validate
from snapshot_svc.sweeping import SWEEP_BATCH, SWEEP_LEASE, Sweeper
from snapshot_svc.tables import jobs
from tests.databases import POSTGRESQL, SQLITE, migrated_engine

pytestmark = [pytest.mark.timeout(300)]

NOW = 1_700_000_000.0
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(postgres_cluster: ThrowawayPostgres) -> ThrowawayPostgres:
    """The run's throwaway cluster (tests/conftest.py); each test makes its own databases in it."""
    return postgres_cluster


@pytest.fixture
def new_url(cluster: ThrowawayPostgres, tmp_path) -> Callable[[str], str]:  # noqa: ANN001
    """A new empty database of the backend: its URL. PostgreSQL's sorts text
    as most installations do (a linguistic collation, ICU's English), not
    bytewise as the throwaway cluster's default would."""
    def make(backend: str) -> str:
        name = f"store_{next(_names)}"
        if backend == SQLITE:
            return f"sqlite:///{tmp_path / name}.db"
        admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
                                     "ICU_LOCALE 'en' LOCALE 'C.UTF-8'")
        finally:
            admin.dispose()
        return cluster.url_of(name)
    return make


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def engine(request, new_url) -> Iterator[Engine]:  # noqa: ANN001
    engine = migrated_engine(new_url(request.param))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(new_url) -> str:  # noqa: ANN001
    url = new_url(POSTGRESQL)
    migrated_engine(url).dispose()
    return url


def _account(engine: Engine, email: str = "owner@example.com") -> int:
    return AccountStore(engine).create(email, "Owner")[0].id


# -- the same answers on both engines ------------------------------------------------------------

def test_accounts_spaces_charts_and_destinations(engine: Engine) -> None:
    accounts = AccountStore(engine)
    account, token = accounts.create("  Owner@Example.COM ", "Owner")
    assert account.email == "owner@example.com"
    assert accounts.authenticate("OWNER@example.com", token) == account
    with pytest.raises(errors.AlreadyExists):
        accounts.create("owner@example.com")
    with pytest.raises(errors.Unauthenticated):
        accounts.authenticate("owner@example.com", "0" * 64)

    spaces = SpaceStore(engine)
    ids = [spaces.create_space(account.id, name)["id"] for name in ("beta", "Gamma", "alpha", "Ähre", "_x")]
    with pytest.raises(errors.AlreadyExists):
        spaces.create_space(account.id, "beta")
    found, total, page = spaces.list_spaces(account.id, Page(0, 10, "name", False))
    # Bytewise (code point) order on both engines, whatever the PostgreSQL database's collation.
    assert (found, total, [s["name"] for s in page]) == (5, 5, ["Gamma", "_x", "alpha", "beta", "Ähre"])
    assert [s["name"] for s in spaces.list_spaces(account.id, Page(0, 10, "id", True), "A")[2]] == [
        "alpha", "Gamma", "beta"]  # the name filter ignores (ASCII) case
    chart = spaces.create_chart(account.id, ids[0], {"name": "c", "streams": [{"metric": "cpu"}],
                                                     "thresholds": [{"operator": ">", "value": 0.5, "type": "red"}]})
    assert spaces.get_chart(account.id, chart["id"]) == {"label": None, "min": None, "max": None,
                                                         "related_space": None, **chart}
    assert spaces.get_space(account.id, ids[0])["chart_ids"] == [chart["id"]]
    spaces.delete_space(account.id, ids[0])
    with pytest.raises(errors.NotFound):
        spaces.get_chart(account.id, chart["id"])

    destinations = DestinationStore(engine)
    made = destinations.create(account.id, "ops", "slack", {"url": "https://hooks.example.com/x"})
    assert destinations.get(account.id, made["id"]) == made
    assert destinations.owned(account.id, (made["id"], "999999999999999999", "x")) == {made["id"]: made}
    assert destinations.list(account.id, Page(0, 10, "title", False)) == (1, [made])


def test_measurements_write_and_query(engine: Engine) -> None:
    account = _account(engine)
    store = MeasurementStore(engine)
    # 50 tags of 200 random characters: more than one PostgreSQL index entry holds.
    wide = {f"t{i}": secrets.token_urlsafe(150) for i in range(50)}
    raw = [{"name": "CPU", "value": float(v), "time": 1000 + v, "has_tags": True, "tags": {"host": "a"}}
           for v in range(10)]
    raw += [{"name": "cpu", "value": 7.0, "time": 1000, "has_tags": True, "tags": wide},
            {"name": "cpu", "count": 4, "sum": 10.0, "min": 1.0, "max": 4.0, "time": 1003, "has_tags": True,
             "tags": {"host": "b"}}]
    good, bad = validate_samples(raw, {}, None, 2000)
    assert bad == {}
    assert store.submit(account, good) == 12
    store.submit(account, good[:1])  # the same second again replaces, through the upsert
    series = store.query(account, "Cpu", 1000, 1009, 5, {"host": "*"})
    assert [(s.tags, s.points) for s in series] == [({"host": "a"}, [(1000, 2.0), (1005, 7.0)]),
                                                    ({"host": "b"}, [(1000, 2.5)])]
    assert [s.points for s in store.query(account, "cpu", 1000, 1009, 10, {}, summary_function="count")] == [
        [(1000, 10.0)], [(1000, 4.0)], [(1000, 1.0)]]  # series in the order they were made
    assert [s.points for s in store.query(account, "cpu", 1000, 1009, 10, {}, group_by="*",
                                          group_function="sum", summary_function="max")] == [[(1000, 20.0)]]
    assert [t for t, _ in store.query(account, "cpu", 0, 5000, 60, {"t0": wide["t0"]})[0].points] == [960]
    assert len(store.matching_series(account, "cpu", [])) == 3


def test_snapshots_jobs_and_idempotency(engine: Engine) -> None:
    account = _account(engine)
    store = SnapshotStore(engine)
    claim = IdempotencyClaim.of("key-1", b"request")
    snap = store.create(account, validate(SnapshotInput(5, "line", services=("1", "2"), message="hi"), NOW), NOW,
                        {"1": "mail", "2": "slack"}, claim)
    assert store.replay(account, claim, NOW + 1)["id"] == snap["id"]
    with pytest.raises(errors.AlreadyExists):
        store.replay(account, IdempotencyClaim.of("key-1", b"other"), NOW + 1)
    with pytest.raises(IntegrityError):  # a concurrent duplicate: the unique key settles it
        store.create(account, validate(SnapshotInput(5, "line"), NOW), NOW, {}, claim)
    later = store.create(account, validate(SnapshotInput(5, "line"), NOW + 5), NOW + 5)
    assert [s["id"] for s in store.list(account, Page(0, 10, "created_at", True))[1]] == [later["id"], snap["id"]]
    assert store.list(account, Page(1, 10, "id", False)) == (2, [_listed(store, account, later["id"])])

    assert store.unpublished(NOW + 100) == [(account, snap["id"]), (account, later["id"])]
    store.mark_published(snap["id"], NOW + 1, seq=10)
    store.render_started(snap["id"], NOW + 2)
    transition = store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 3)
    assert transition.deliveries_pending and transition.completed_in is None
    store.mark_dispatched(snap["id"], {"1": 11, "2": 12}, NOW + 4)
    assert [d.service_id for d in store.deliveries_dispatched_before(NOW + 5)] == ["1", "2"]
    assert store.delivery_ended(snap["id"], "1", "delivered", 1, "", NOW + 5).completed_in is None
    assert store.delivery_ended(snap["id"], "2", "failed", 3, "refused", NOW + 6).completed_in == 6.0
    job = store.get_job(account, snap["job_id"])
    assert (job.state, job.progress, job.image_key) == (COMPLETE, 100.0, snap["assigned_image_key"])
    assert [(d["service_id"], d["state"], d["error"]) for d in job.deliveries] == [
        ("1", "delivered", ""), ("2", "failed", "refused")]
    assert store.render_failed(snap["id"], "late", NOW + 7) is False
    assert store.forget_idempotency_keys(NOW + 86_400) == 1


# What only a snapshot's own read answers, not a list (snapshot_svc.snapshots.LISTED_COLUMNS).
NOT_LISTED = ("assigned_image_key", "services", "message", "narrowing", "account_id", "chart_name", "request_id")


def _listed(store: SnapshotStore, account: int, snapshot_id: int) -> dict:
    got = store.get(account, snapshot_id)
    return {k: v for k, v in got.items() if k not in NOT_LISTED}


def _refused(call: Callable[[], object]) -> dict[str, list[str]]:
    with pytest.raises(errors.InvalidParams) as refused:
        call()
    return refused.value.fields


def test_text_postgresql_cannot_store_is_refused_alike_naming_its_field(engine: Engine) -> None:
    """U+0000 (PostgreSQL's text refuses it, SQLite's takes it) and text longer
    than its column (PostgreSQL refuses it, SQLite truncates nothing): a 400
    naming the field on both engines, never a database error."""
    accounts, spaces, destinations = AccountStore(engine), SpaceStore(engine), DestinationStore(engine)
    assert list(_refused(lambda: accounts.create("a" * 310 + "@example.com"))) == ["email"]
    assert list(_refused(lambda: accounts.create("nul\x00@example.com"))) == ["email"]
    assert list(_refused(lambda: accounts.create("ok@example.com", "x" * 201))) == ["name"]
    account = _account(engine)
    assert list(_refused(lambda: spaces.create_space(account, "a\x00b"))) == ["name"]
    space = spaces.create_space(account, "s")["id"]
    assert list(_refused(lambda: spaces.update_space(account, space, "a\x00b"))) == ["name"]
    assert list(_refused(lambda: spaces.create_chart(account, space, {"name": "c\x00"}))) == ["name"]
    assert list(_refused(lambda: destinations.create(account, "t\x00", "slack", {"url": "https://x/y"}))) == [
        "title"]
    assert list(_refused(lambda: validate(SnapshotInput(5, "line", message="hi\x00"), NOW))) == ["message"]
    assert spaces.list_spaces(account, Page(0, 10, "id", False))[0] == 1  # nothing else was stored
    # A stream's texts are drawn in the image and the legend: U+0000 is refused there too.
    assert list(_refused(lambda: spaces.create_chart(
        account, space, {"name": "c", "streams": [{"metric": "m", "name": "a\x00"}]}))) == ["streams[0].name"]
    # A worker's error text is stored with U+FFFD in its place.
    store = SnapshotStore(engine)
    snap = _rendered_with_deliveries(store, account, 1)
    store.delivery_ended(snap["id"], "1", "failed", 1, "smtp said \x00", NOW + 2)
    assert store.get_job(account, snap["job_id"]).deliveries[0]["error"] == "smtp said \ufffd"


# -- results applied by several replicas at once --------------------------------------------------

DELIVERIES = 5
ROUNDS = 50


def _rendered_with_deliveries(store: SnapshotStore, account: int, services: int) -> dict:
    ids = tuple(str(i) for i in range(1, services + 1))
    snap = store.create(account, validate(SnapshotInput(5, "line", services=ids), NOW), NOW,
                        {s: "mail" for s in ids})
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1).deliveries_pending
    return snap


def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; their results (or exceptions) in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait(timeout=30)
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing call hung"
    return results


@pytest.fixture
def replicas(pg_url: str) -> Iterator[list[SnapshotStore]]:
    """Two replicas' snapshot stores: two engines on one PostgreSQL database."""
    engines = [make_engine(pg_url, PoolSize(size=DELIVERIES, overflow=0)) for _ in range(2)]
    yield [SnapshotStore(e) for e in engines]
    for e in engines:
        e.dispose()


def test_the_last_of_concurrent_deliveries_always_completes_the_job(replicas: list[SnapshotStore]) -> None:
    account = _account(replicas[0].engine)
    for _ in range(ROUNDS):
        snap = _rendered_with_deliveries(replicas[0], account, DELIVERIES)
        outcomes = _race([
            lambda i=i: replicas[i % 2].delivery_ended(snap["id"], str(i + 1), "delivered" if i % 2 else "failed",
                                                       1, "", NOW + 2)
            for i in range(DELIVERIES)])
        assert not [o for o in outcomes if isinstance(o, Exception)]
        job = replicas[1].get_job(account, snap["job_id"])
        assert (job.state, job.progress) == (COMPLETE, 100.0)
        assert all(d["state"] != "pending" for d in job.deliveries)
        assert sum(o.completed_in is not None for o in outcomes) == 1  # one call completed it


def test_a_late_failure_never_undoes_a_success(replicas: list[SnapshotStore]) -> None:
    account = _account(replicas[0].engine)
    for _ in range(ROUNDS):
        snap = replicas[0].create(account, validate(SnapshotInput(5, "line"), NOW), NOW)
        succeeded, failed = _race([
            lambda: replicas[0].render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1),
            lambda: replicas[1].render_failed(snap["id"], "crashed", NOW + 1)])
        assert not isinstance(succeeded, Exception) and not isinstance(failed, Exception)
        job = replicas[0].get_job(account, snap["job_id"])
        # One of them won, wholly: complete with its image, or failed without one.
        assert (job.state, job.image_key) in {(COMPLETE, snap["assigned_image_key"]), (FAILED, None)}
        assert failed is (job.state == FAILED)
        assert replicas[1].render_failed(snap["id"], "late", NOW + 2) is False  # after the fact: nothing
        assert replicas[1].get_job(account, snap["job_id"]).state == job.state


def test_the_deadline_and_the_last_delivery_racing_end_the_job_once(replicas: list[SnapshotStore]) -> None:
    account = _account(replicas[0].engine)
    for _ in range(ROUNDS):
        snap = _rendered_with_deliveries(replicas[0], account, 2)
        replicas[0].delivery_ended(snap["id"], "1", "delivered", 1, "", NOW + 2)
        ended, swept = _race([
            lambda: replicas[0].delivery_ended(snap["id"], "2", "delivered", 1, "", NOW + 3),
            lambda: replicas[1].fail_pending_deliveries(snap["id"], "deadline", NOW + 3)])
        job = replicas[0].get_job(account, snap["job_id"])
        assert (job.state, job.progress) == (COMPLETE, 100.0)
        second = job.deliveries[1]["state"]
        assert (second, swept) in {("delivered", 0), ("failed", 1)}
        assert (ended.completed_in is not None) is (second == "delivered")


def test_replicas_writing_the_same_points_at_once_do_not_deadlock(replicas: list[SnapshotStore]) -> None:
    """Two batches of the same series and seconds in opposite orders, from two
    replicas at once: rows are written in one order, so neither waits on the other."""
    engines = [r.engine for r in replicas]
    account = _account(engines[0])
    for round_ in range(10):
        raw = [{"name": "cpu", "value": float(i), "time": 1000 * round_ + i % 100, "has_tags": True,
                "tags": {"host": f"h{i // 100}"}} for i in range(1000)]
        batches = [validate_samples(order, {}, None, 100_000)[0] for order in (raw, raw[::-1])]
        outcomes = _race([lambda i=i: MeasurementStore(engines[i]).submit(account, batches[i]) for i in range(2)])
        assert outcomes == [1000, 1000]


# -- two sweepers, one database -------------------------------------------------------------------

STALE_JOBS = 200


class CountingPublisher:
    """A RenderPublisher that counts what each replica put on the queue, and
    passes it on to the real one (RenderQueue) when given it."""

    def __init__(self, counts: Counter, render_queue: RenderQueue | None = None) -> None:
        self.counts = counts
        self.render_queue = render_queue
        self.seq = itertools.count(1)

    async def publish(self, request, publish: int) -> int:  # noqa: ANN001 - a RenderRequest
        self.counts[request.snapshot_id] += 1
        if self.render_queue is not None:
            return await self.render_queue.publish(request, publish)
        await asyncio.sleep(0)  # let the other replica run between two publishes, as a real publish does
        return next(self.seq)


class NoQueue:
    """The sweeper's queue look-ups; none is made while every job is fresh and unpublished."""

    async def snapshot_at(self, seq: int) -> int | None:
        raise AssertionError("not asked")

    async def delivery_request_present(self, delivery) -> bool:  # noqa: ANN001
        raise AssertionError("not asked")

    async def drop_render_request(self, seq: int) -> None:
        raise AssertionError("not asked")


def _sweeper(engine: Engine, counts: Counter, render_queue: RenderQueue | None = None) -> Sweeper:
    snapshots = SnapshotStore(engine)
    jobs_ = Jobs(snapshots, SpaceStore(engine), MeasurementStore(engine), CountingPublisher(counts, render_queue))
    return Sweeper(snapshots, jobs_, NoQueue(), JobBounds(job_deadline=10 * 86_400.0, delivery_deadline=600.0,
                                                             lost_request_grace=86_400.0, sweep_interval=0.1))


def _stale_jobs(engine: Engine, count: int) -> list[int]:
    account = _account(engine)
    spaces = SpaceStore(engine)
    chart = spaces.create_chart(account, spaces.create_space(account, "s")["id"],
                                {"name": "c", "streams": [{"metric": "m"}]})
    store = SnapshotStore(engine)
    created = time.time() - 3600  # long past the grace: crashed between commit and publish
    return [store.create(account, validate(SnapshotInput(chart["id"], "line"), created + i), created + i)["id"]
            for i in range(count)]


async def _sweep_all_with_two_replicas(url: str, render_queue: RenderQueue | None = None
                                       ) -> tuple[list[int], list[Counter]]:
    """200 stale jobs swept by two replicas (two engines) at once until none
    is left: the jobs, and what each replica published."""
    engines = [migrated_engine(url), make_engine(url)]
    try:
        stale = _stale_jobs(engines[0], STALE_JOBS)
        counts: list[Counter] = [Counter(), Counter()]
        sweepers = [_sweeper(e, c, render_queue) for e, c in zip(engines, counts)]
        sweeps = 0
        while SnapshotStore(engines[0]).unpublished(time.time()):
            sweeps += 1
            assert sweeps <= 2 * STALE_JOBS // SWEEP_BATCH, "the sweepers left stale jobs unpublished"
            await asyncio.wait_for(asyncio.gather(*(s.sweep_once() for s in sweepers)), timeout=60)
        return stale, counts
    finally:
        for e in engines:
            e.dispose()


def _once_each(stale: list[int], counts: list[Counter]) -> None:
    total = counts[0] + counts[1]
    assert sorted(total) == stale and set(total.values()) == {1}  # each published once, by one replica
    assert not set(counts[0]) & set(counts[1])


@pytest.mark.parametrize("backend", [POSTGRESQL, SQLITE])
async def test_two_sweepers_publish_each_stale_job_once(backend: str, new_url) -> None:  # noqa: ANN001
    _once_each(*await _sweep_all_with_two_replicas(new_url(backend)))


async def test_two_sweepers_put_each_stale_job_on_jetstream_once(js, new_url) -> None:  # noqa: ANN001
    """The same through the real publisher: the render stream holds one request per job."""
    stale, counts = await _sweep_all_with_two_replicas(new_url(POSTGRESQL), RenderQueue(js))
    _once_each(stale, counts)
    state = (await js.stream_info(queue.RENDER_STREAM)).state
    assert (state.messages, state.last_seq) == (STALE_JOBS, STALE_JOBS)  # no copy even reached the stream


def test_a_claim_is_held_by_its_lease_and_taken_over_when_it_runs_out(engine: Engine) -> None:
    stale = _stale_jobs(engine, 3)
    store = SnapshotStore(engine)
    now = time.time()
    assert [sid for _, sid in store.claim_unpublished(now, now, SWEEP_LEASE, limit=2)] == stale[:2]
    # The first replica died holding two: the other gets the third only...
    assert [sid for _, sid in store.claim_unpublished(now, now + 1, SWEEP_LEASE)] == [stale[2]]
    assert store.claim_unpublished(now, now + SWEEP_LEASE - 1, SWEEP_LEASE) == []
    # ...until the lease runs out; one given back is free at once.
    store.release_claim(stale[2])
    later = now + SWEEP_LEASE + 1
    assert [sid for _, sid in store.claim_unpublished(now, later, SWEEP_LEASE)] == stale
    assert [sid for _, sid in store.unpublished(now)] == stale  # a claim hides nothing from the plain view
    with engine.begin() as conn:
        conn.execute(update(jobs).values(published_at=later))
    assert store.claim_unpublished(now, later + 2 * SWEEP_LEASE, SWEEP_LEASE) == []  # published: no longer stale


def test_the_claim_skips_rows_another_replica_is_claiming(pg_url: str) -> None:
    """FOR UPDATE SKIP LOCKED: while one replica's claim is uncommitted, another
    claims the rest at once instead of waiting or taking the same rows."""
    engines = [make_engine(pg_url), make_engine(pg_url)]
    try:
        stale = _stale_jobs(engines[0], 4)
        now = time.time()
        with engines[0].begin() as holding:
            locked = holding.execute(select(jobs.c.snapshot_id).where(jobs.c.snapshot_id.in_(stale[:2]))
                                     .with_for_update()).scalars().all()
            assert sorted(locked) == stale[:2]
            started = time.monotonic()
            taken = SnapshotStore(engines[1]).claim_unpublished(now, now, SWEEP_LEASE)
            assert time.monotonic() - started < 5.0  # did not wait for the lock
            assert [sid for _, sid in taken] == stale[2:]
    finally:
        for e in engines:
            e.dispose()


# -- the pool -----------------------------------------------------------------------------------

def test_the_pool_opens_at_most_its_size_plus_overflow(pg_url: str) -> None:
    pool = PoolSize(size=3, overflow=2, timeout=0.5)
    engine = make_engine(pg_url, pool)
    try:
        held = [engine.connect() for _ in range(pool.most)]
        with pytest.raises(PoolTimeout):  # the next caller waits, then fails: no sixth connection
            engine.connect()
        watcher = make_engine(pg_url)
        with watcher.connect() as conn:
            opened = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND pid <> pg_backend_pid()")).scalar()
        watcher.dispose()
        assert opened == pool.most == 5
        assert held[0].exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
        for conn in held:
            conn.close()
    finally:
        engine.dispose()
