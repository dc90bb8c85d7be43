"""The snapshot store's side of the job bounds and of Idempotency-Key: every
sweeper action is a guarded UPDATE that only one caller wins, and a key names
one snapshot per account for 24 hours. Real SQLite in a temp dir."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from chartsnap import errors
from chartsnap.idempotency_key import MAX_LENGTH, REUSE_AFTER, checked
from chartsnap.settings import SettingsError
from snapshot_svc.pagination import Page
from snapshot_svc.settings import JobBounds, SnapshotSettings, default_job_deadline, render_budget
from snapshot_svc.tables import metadata
from snapshot_svc.snapshots import IdempotencyClaim, QueuedDelivery, SnapshotInput, SnapshotStore, validate

NOW = 1_700_000_000.0


@pytest.fixture
def store(db_engine) -> SnapshotStore:
    return SnapshotStore(db_engine)


def _create(store: SnapshotStore, acct: int, now: float = NOW, claim: IdempotencyClaim | None = None,
            services: tuple[str, ...] = ()) -> dict:
    types = {s: "mail" for s in services}
    return store.create(acct, validate(SnapshotInput(5, "line", services=services), now), now, types, claim)


def _job(store: SnapshotStore, acct: int, snap: dict):
    return store.get_job(acct, snap["job_id"])


# -- render requests on the stream --------------------------------------------------------------

def test_published_request_is_checked_then_confirmed_gone(store, acct):
    snap = _create(store, acct)
    store.mark_published(snap["id"], NOW + 1, seq=41)
    assert store.requests_to_check(published_before=NOW + 1, checked_before=NOW + 100) == []  # not old enough
    [render] = store.requests_to_check(published_before=NOW + 31, checked_before=NOW + 31)
    assert (render.snapshot_id, render.seq, render.publishes, render.gone_since) == (snap["id"], 41, 1, None)

    assert store.request_seen(snap["id"], 41, present=True, now=NOW + 31) is None
    assert store.requests_to_check(NOW + 31, NOW + 31) == []  # just looked at
    assert store.request_seen(snap["id"], 41, present=False, now=NOW + 62) == NOW + 62
    assert store.request_seen(snap["id"], 41, present=False, now=NOW + 93) == NOW + 62  # gone since the first miss
    assert store.open_snapshot_at_seq(41) == snap["id"]
    assert store.render_failed(snap["id"], "about an older copy", NOW + 94, render_seq=40) is False
    assert store.render_failed(snap["id"], "crashed", NOW + 94, render_seq=41) is True
    assert store.open_snapshot_at_seq(41) is None  # no longer open


def test_a_sequence_two_open_jobs_share_names_neither(store, acct):
    a, b = _create(store, acct), _create(store, acct)
    store.mark_published(a["id"], NOW, seq=3)
    store.mark_published(b["id"], NOW, seq=3)  # the stream was made again and numbered from 1
    assert store.open_snapshot_at_seq(3) is None


def test_render_msg_ids_name_their_snapshot():
    from chartsnap.message_ids import render_request_id as render_msg_id, snapshot_of_render_request as snapshot_named_by

    assert [snapshot_named_by(render_msg_id(12, n)) for n in (1, 2, 3)] == [12, 12, 12]
    assert [snapshot_named_by(x) for x in (None, "", "delivery-1:2", "render-x", "render-1-done")] == [None] * 5


def test_republish_is_claimed_by_one_sweeper_only(store, acct):
    snap = _create(store, acct)
    store.mark_published(snap["id"], NOW, seq=7)
    assert store.claim_republish(snap["id"], 7, 1) is True
    assert store.claim_republish(snap["id"], 7, 1) is False  # the other replica
    store.undo_republish(snap["id"], 7, 1)                   # its publish failed: try again later
    assert store.claim_republish(snap["id"], 7, 1) is True
    store.mark_published(snap["id"], NOW + 50, seq=9)
    [render] = store.requests_to_check(NOW + 100, NOW + 100)
    assert (render.seq, render.publishes, render.gone_since) == (9, 2, None)


def test_nothing_to_check_once_rendered_or_failed(store, acct):
    rendered, failed = _create(store, acct), _create(store, acct)
    for i, snap in enumerate((rendered, failed)):
        store.mark_published(snap["id"], NOW, seq=10 + i)
    store.render_succeeded(rendered["id"], rendered["assigned_image_key"], NOW + 1)
    assert store.render_failed(failed["id"], "x", NOW + 1)
    assert store.requests_to_check(NOW + 100, NOW + 100) == []
    assert store.claim_republish(failed["id"], 11, 1) is False


def test_a_late_success_does_not_revive_a_failed_job(store, acct):
    snap = _create(store, acct)
    assert store.render_failed(snap["id"], "the chart was not drawn within the job deadline (840 s)", NOW + 900)
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 901).deliveries_pending is False
    job = _job(store, acct, snap)
    assert (job.state, job.image_key) == ("failed", None)
    assert store.get(acct, snap["id"])["image_key"] is None


# -- deliveries ----------------------------------------------------------------------------------

def test_overdue_deliveries_and_the_deadline_end_the_job(store, acct):
    snap = _create(store, acct, services=("1", "2"))
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1)
    store.mark_dispatched(snap["id"], {"1": 5, "2": 6}, NOW + 2)
    store.mark_dispatched(snap["id"], {"1": 5}, NOW + 50)  # a redispatch does not extend the deadline
    assert store.deliveries_dispatched_before(NOW + 2) == []
    assert store.deliveries_dispatched_before(NOW + 3) == [QueuedDelivery(snap["id"], "1", 5),
                                                           QueuedDelivery(snap["id"], "2", 6)]
    store.delivery_still_queued(snap["id"], "2", NOW + 60)  # seen on the stream: another deadline
    assert store.deliveries_dispatched_before(NOW + 3) == [QueuedDelivery(snap["id"], "1", 5)]
    store.delivery_ended(snap["id"], "1", "delivered", 1, "", NOW + 4)
    [job] = store.open_jobs_created_before(NOW + 1000)
    assert job.rendered
    assert store.fail_pending_deliveries(snap["id"], "no result", NOW + 5) == 1
    view = _job(store, acct, snap)
    assert (view.state, view.progress) == ("complete", 100.0)
    assert [(d["state"], d["error"]) for d in view.deliveries] == [("delivered", ""), ("failed", "no result")]


# -- idempotency ---------------------------------------------------------------------------------

def test_a_key_answers_its_snapshot_and_refuses_another_request(store, acct, other_acct):
    claim = IdempotencyClaim.of("order-1", b"body")
    assert store.replay(acct, claim, NOW) is None
    first = _create(store, acct, claim=claim)
    assert store.replay(acct, claim, NOW + 10) == store.get(acct, first["id"])
    with pytest.raises(errors.AlreadyExists, match="Idempotency-Key reused with a different request"):
        store.replay(acct, IdempotencyClaim.of("order-1", b"other body"), NOW + 10)
    assert store.replay(other_acct, claim, NOW + 10) is None  # keys are per account
    with pytest.raises(IntegrityError):  # a concurrent duplicate loses at the unique index
        _create(store, acct, claim=claim, now=NOW + 1)
    assert store.list(acct, Page(0, 100, "id", False))[0] == 1


def test_a_key_may_be_reused_after_24_hours(store, acct):
    claim = IdempotencyClaim.of("k", b"body")
    first = _create(store, acct, claim=claim)
    later = NOW + REUSE_AFTER
    assert store.replay(acct, claim, later) is None
    second = _create(store, acct, claim=IdempotencyClaim.of("k", b"new body"), now=later)
    assert second["id"] != first["id"]
    assert store.replay(acct, IdempotencyClaim.of("k", b"new body"), later + 1)["id"] == second["id"]
    assert store.forget_idempotency_keys(later) == 1
    assert store.replay(acct, IdempotencyClaim.of("k", b"new body"), later + 1) is None


@pytest.mark.parametrize("key", ["", "x" * (MAX_LENGTH + 1), "tab\there", "caf\u00e9", "nul\x00", "\udcff"])
def test_key_bounds(key):
    with pytest.raises(errors.InvalidParams) as raised:
        checked(key)
    assert list(raised.value.fields) == ["Idempotency-Key"]


def test_key_bounds_accept_printable_ascii():
    assert checked("a") == "a"
    assert checked("~ !" + "x" * (MAX_LENGTH - 3)) == "~ !" + "x" * (MAX_LENGTH - 3)


# -- schema and settings -------------------------------------------------------------------------

def test_an_older_database_gets_the_new_columns(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:  # the jobs table as it was before the job bounds
        conn.execute(text("CREATE TABLE jobs (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, "
                          "snapshot_id INTEGER NOT NULL, state VARCHAR(16) NOT NULL, progress FLOAT NOT NULL, "
                          "errors JSON NOT NULL, published_at FLOAT, created_at FLOAT NOT NULL, "
                          "updated_at FLOAT NOT NULL)"))
        conn.execute(text("INSERT INTO jobs VALUES (1, 1, 1, 'queued', 0, '[]', NULL, 1, 1)"))
    from snapshot_svc import schema
    assert schema.upgrade(engine) == (None, schema.head())  # stamped at the baseline, then migrated
    found = inspect(engine)  # every table, column and index of the head is there
    for table in metadata.sorted_tables:
        assert {c.name for c in table.columns} <= {c["name"] for c in found.get_columns(table.name)}
        assert {i.name for i in table.indexes} <= {i["name"] for i in found.get_indexes(table.name)}
    assert schema.upgrade(engine) == (schema.head(), schema.head())  # idempotent
    with engine.connect() as conn:
        assert conn.execute(text("SELECT render_publishes, render_seq FROM jobs")).one() == (0, None)
    assert "ix_jobs_render_seq" in {i["name"] for i in inspect(engine).get_indexes("jobs")}


def test_job_deadline_is_derived_from_the_budgets():
    assert render_budget(10.0, 4) == 6 * 40.0
    assert render_budget(10.0, 4, render_total_budget=600.0) == 600.0 + 10.0 + 60.0  # a longer render budget wins
    defaults = SnapshotSettings.from_env({}).bounds
    assert defaults == JobBounds()
    assert defaults.delivery_deadline == 2 * (60.0 + 20.0) + 60.0 == 220.0
    assert defaults.job_deadline == 2 * (240.0 + 220.0) == 920.0
    assert defaults.job_deadline < 3600 / 3  # "well before an hour"
    tuned = SnapshotSettings.from_env({"CHARTSNAP_RENDER_TIMEOUT": "5", "CHARTSNAP_RENDER_MAX_ATTEMPTS": "2",
                                       "CHARTSNAP_NOTIFY_MAX_TOTAL_SECONDS": "10",
                                       "CHARTSNAP_NOTIFY_ATTEMPT_TIMEOUT": "5"}).bounds
    assert tuned.delivery_deadline == 2 * 15.0 + 60.0
    assert tuned.job_deadline == default_job_deadline(render_budget(5.0, 2), 90.0) == 2 * (4 * 35.0 + 90.0)
    assert SnapshotSettings.from_env({"CHARTSNAP_JOB_DEADLINE": "60"}).bounds.job_deadline == 60.0
    with pytest.raises(SettingsError, match="CHARTSNAP_JOB_DEADLINE"):
        SnapshotSettings.from_env({"CHARTSNAP_JOB_DEADLINE": "soon"})


def test_a_rendered_job_with_nothing_pending_is_completed_at_the_deadline(store, acct, db_engine):
    from sqlalchemy import update

    from snapshot_svc.tables import jobs

    snap = _create(store, acct)
    with db_engine.begin() as conn:  # rendered, but left open (a lost update)
        conn.execute(update(jobs).where(jobs.c.snapshot_id == snap["id"]).values(state="working", progress=50.0))
    assert store.fail_pending_deliveries(snap["id"], "no result", NOW + 1) == 0
    assert (_job(store, acct, snap).state, _job(store, acct, snap).progress) == ("complete", 100.0)
    assert store.open_jobs_created_before(NOW + 1000) == []
