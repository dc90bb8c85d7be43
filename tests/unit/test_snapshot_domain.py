"""snapshot_svc.snapshots: validation, image keys, storage and the job state machine."""

from __future__ import annotations

import re

import pytest

from chartsnap import errors
from chartsnap.image_keys import new_image_key
from snapshot_svc import snapshots as snaps
from snapshot_svc.pagination import Page, page_from
from snapshot_svc.snapshots import SnapshotInput, SnapshotStore, validate

NOW = 1_700_000_000.0


def _fields(data: SnapshotInput, now: float = NOW) -> dict[str, list[str]]:
    with pytest.raises(errors.InvalidParams) as info:
        validate(data, now)
    return info.value.fields


def _input(**kw) -> SnapshotInput:
    return SnapshotInput(**{"chart_id": 5, "chart_type": "line", **kw})


# -- validate ------------------------------------------------------------------------------

def test_defaults():
    v = validate(_input(), NOW)
    assert (v.duration, v.end_time, v.width, v.height) == (3600, NOW, 600, 416)
    assert (v.chart_id, v.chart_type, v.tags, v.source, v.services, v.message) == (5, "line", (), None, (), None)
    assert v.sources == ["*"]


def test_end_time_is_truncated_to_whole_seconds():
    assert validate(_input(end_time=NOW - 0.75), NOW).end_time == NOW - 1
    assert validate(_input(), NOW + 0.9).end_time == NOW


@pytest.mark.parametrize("chart_type", ["line", "stacked", "bignumber"])
def test_chart_types(chart_type):
    assert validate(_input(chart_type=chart_type), NOW).chart_type == chart_type


@pytest.mark.parametrize("chart_type", ["", "pie", "Line", "composite"])
def test_bad_chart_type_names_subject(chart_type):
    assert _fields(_input(chart_type=chart_type)) == {
        "subject": ["chart type must be one of line, stacked, bignumber"]}


@pytest.mark.parametrize("chart_id", [0, -1])
def test_missing_chart_id_names_subject(chart_id):
    assert _fields(_input(chart_id=chart_id)) == {"subject": ["chart id is required"]}


@pytest.mark.parametrize("duration", [60, 61, 3600, 31_622_400])
def test_duration_in_bounds(duration):
    assert validate(_input(duration=duration), NOW).duration == duration


@pytest.mark.parametrize("duration", [0, -60, 1, 59, 31_622_401, 40_000_000])
def test_duration_out_of_bounds(duration):
    assert _fields(_input(duration=duration)) == {
        "duration": ["must be a whole number of seconds from 60 to 31622400"]}


def test_end_time_at_most_one_day_ahead():
    assert validate(_input(end_time=NOW + 86_400), NOW).end_time == NOW + 86_400
    assert _fields(_input(end_time=NOW + 86_401)) == {"end_time": ["must be no more than one day in the future"]}


def test_end_time_in_the_past_is_fine():
    assert validate(_input(end_time=1455931126), NOW).end_time == 1455931126.0


def test_window_before_1970_is_refused():
    assert validate(_input(end_time=60, duration=60), NOW).end_time == 60
    assert _fields(_input(end_time=59, duration=60)) == {"end_time": ["must be after 1970 plus the duration"]}


@pytest.mark.parametrize("key", ["width", "height"])
def test_size_bounds(key):
    for ok in (100, 4000, 1234):
        assert getattr(validate(_input(**{key: ok}), NOW), key) == ok
    for bad in (99, 4001, -5, 10**6):
        assert _fields(_input(**{key: bad})) == {key: ["must be from 100 to 4000 pixels"]}


def test_message_length():
    assert validate(_input(message="m" * 1000), NOW).message == "m" * 1000
    assert validate(_input(message=""), NOW).message == ""
    assert _fields(_input(message="m" * 1001)) == {"message": ["must be at most 1000 characters"]}


def test_duplicate_services_are_refused():
    assert validate(_input(services=("3", "4")), NOW).services == ("3", "4")
    assert _fields(_input(services=("3", "4", "3"))) == {"services": ["lists a service more than once"]}


def test_narrowing_tags_need_name_and_values():
    assert _fields(_input(tags=({"name": "env", "values": []}, {"name": "", "values": ["x"]}))) == {
        "subject.chart.tags[0]": ["needs a name and at least one value"],
        "subject.chart.tags[1]": ["needs a name and at least one value"],
    }


def test_every_problem_is_reported_together():
    fields = _fields(SnapshotInput(chart_id=0, chart_type="pie", duration=1, end_time=NOW + 10**6, width=1,
                                   height=5000, message="x" * 2000, services=("a", "a")))
    assert set(fields) == {"subject", "duration", "end_time", "width", "height", "message", "services"}
    assert len(fields["subject"]) == 2


def test_sources_property():
    assert validate(_input(source="web-*"), NOW).sources == ["web-*"]
    tagged = validate(_input(tags=({"name": "env", "values": ["prod*", "staging"]},
                                   {"name": "host", "values": ["a"]})), NOW)
    assert tagged.sources == ["prod*", "staging", "a"]
    # an empty legacy source is no narrowing
    empty = validate(_input(source=""), NOW)
    assert empty.source is None and empty.sources == ["*"]


# -- image keys ----------------------------------------------------------------------------------

def test_new_image_key_format():
    assert re.fullmatch(r"chart/[a-z0-9]{16}-71569\.png", new_image_key(71569))


def test_new_image_keys_are_unique():
    keys = {new_image_key(1) for _ in range(500)}
    assert len(keys) == 500


# -- SnapshotStore --------------------------------------------------------------------------------

@pytest.fixture
def store(db_engine) -> SnapshotStore:
    return SnapshotStore(db_engine)


def _create(store: SnapshotStore, account_id: int, now: float = NOW, **kw) -> dict:
    return store.create(account_id, validate(_input(**kw), now), now)


def test_create_stores_the_snapshot_with_a_queued_job(store, acct):
    snap = _create(store, acct, chart_type="stacked", duration=600, end_time=NOW - 60, width=800, height=300,
                   message="hi", source="web-*")
    assert (snap["chart_id"], snap["chart_type"], snap["duration"], snap["end_time"]) == (5, "stacked", 600, NOW - 60)
    assert (snap["width"], snap["height"], snap["message"], snap["account_id"]) == (800, 300, "hi", acct)
    assert snap["sources"] == ["web-*"]
    assert snap["narrowing"] == {"tags": [], "source": "web-*"}
    assert snap["created_at"] == snap["updated_at"] == NOW
    assert snap["image_key"] is None  # not rendered yet
    assert re.fullmatch(rf"chart/[a-z0-9]{{16}}-{snap['id']}\.png", snap["assigned_image_key"])
    job = store.get_job(acct, snap["job_id"])
    assert (job.state, job.progress, job.errors, job.image_key, job.snapshot_id) == ("queued", 0.0, [], None,
                                                                                      snap["id"])


def test_create_keeps_tag_narrowing(store, acct):
    snap = _create(store, acct, tags=({"name": "env", "values": ["prod*"]},))
    assert snap["narrowing"] == {"tags": [{"name": "env", "values": ["prod*"]}], "source": None}
    assert snap["sources"] == ["prod*"]


def test_each_snapshot_has_its_own_image_key_and_job(store, acct):
    a, b = _create(store, acct), _create(store, acct)
    assert a["id"] != b["id"] and a["job_id"] != b["job_id"]
    assert a["assigned_image_key"] != b["assigned_image_key"]


def test_get_is_stable(store, acct):
    snap = _create(store, acct)
    assert store.get(acct, snap["id"]) == snap
    assert store.get(None, snap["id"]) == snap  # internal callers (the queue worker) need no account


def test_other_accounts_snapshot_and_job_are_not_found(store, acct, other_acct):
    snap = _create(store, acct)
    with pytest.raises(errors.NotFound):
        store.get(other_acct, snap["id"])
    with pytest.raises(errors.NotFound):
        store.get_job(other_acct, snap["job_id"])
    with pytest.raises(errors.NotFound):
        store.get(acct, snap["id"] + 1000)
    assert store.list(other_acct, page_from(0, 0, "", "", ("id",))) == (0, [])


def test_list_paginates_and_sorts(store, acct, other_acct):
    ids = [_create(store, acct)["id"] for _ in range(5)]
    _create(store, other_acct)
    total, items = store.list(acct, Page(offset=1, length=2, orderby="id", descending=False))
    assert total == 5 and [s["id"] for s in items] == ids[1:3]
    total, items = store.list(acct, Page(offset=0, length=100, orderby="id", descending=True))
    assert [s["id"] for s in items] == ids[::-1]


# -- job transitions ---------------------------------------------------------------------------------

def _job(store, acct, snap):
    return store.get_job(acct, snap["job_id"])


def test_happy_path_queued_working_complete(store, acct):
    snap = _create(store, acct)
    store.render_started(snap["id"], NOW + 1)
    job = _job(store, acct, snap)
    assert (job.state, job.progress, job.image_key) == ("working", 10.0, None)
    # no deliveries to queue
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 2).deliveries_pending is False
    job = _job(store, acct, snap)
    assert (job.state, job.progress, job.image_key, job.deliveries) == (
        "complete", 100.0, snap["assigned_image_key"], [])
    got = store.get(acct, snap["id"])
    assert got["image_key"] == snap["assigned_image_key"] and got["updated_at"] == NOW + 2


def test_success_straight_from_queued(store, acct):
    snap = _create(store, acct)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 2)
    assert _job(store, acct, snap).state == "complete"


def test_redelivered_events_after_complete_change_nothing(store, acct):
    snap = _create(store, acct)
    store.render_started(snap["id"], NOW + 1)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 2)
    before = _job(store, acct, snap)
    store.render_started(snap["id"], NOW + 3)
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 4).deliveries_pending is False
    store.render_failed(snap["id"], "late failure", NOW + 5)
    after = _job(store, acct, snap)
    assert after == before
    assert (after.state, after.progress, after.errors) == ("complete", 100.0, [])


def test_failure_is_terminal(store, acct):
    snap = _create(store, acct)
    store.render_started(snap["id"], NOW + 1)
    store.render_failed(snap["id"], "no data", NOW + 2)
    job = _job(store, acct, snap)
    assert (job.state, job.errors, job.image_key) == ("failed", ["no data"], None)
    store.render_started(snap["id"], NOW + 3)
    store.render_failed(snap["id"], "second failure", NOW + 4)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 5)
    job = _job(store, acct, snap)
    assert (job.state, job.errors, job.progress) == ("failed", ["no data"], 10.0)


def test_transitions_touch_only_their_snapshot(store, acct):
    a, b = _create(store, acct), _create(store, acct)
    store.render_started(a["id"], NOW + 1)
    store.render_failed(a["id"], "x", NOW + 2)
    assert _job(store, acct, b).state == "queued"


# -- deliveries ------------------------------------------------------------------------------------------

TYPES = {"3": "mail", "4": "slack"}


def _with_services(store, acct) -> dict:
    return store.create(acct, validate(_input(services=("4", "3")), NOW), NOW, TYPES)


def test_create_records_one_pending_delivery_per_service_in_order(store, acct):
    snap = _with_services(store, acct)
    assert snap["services"] == ["4", "3"]
    assert _job(store, acct, snap).deliveries == [
        {"service_id": "4", "type": "slack", "state": "pending", "attempts": 0, "error": ""},
        {"service_id": "3", "type": "mail", "state": "pending", "attempts": 0, "error": ""},
    ]
    assert store.pending_deliveries(snap["id"]) == ["4", "3"]


def test_success_with_deliveries_pending_stays_working_until_every_delivery_ends(store, acct):
    snap = _with_services(store, acct)
    store.render_started(snap["id"], NOW + 1)
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 2).deliveries_pending is True
    job = _job(store, acct, snap)
    assert (job.state, job.progress, job.image_key) == ("working", 50.0, snap["assigned_image_key"])
    # a late render_started must not pull the job back to 10 %
    store.render_started(snap["id"], NOW + 3)
    assert _job(store, acct, snap).progress == 50.0

    store.delivery_ended(snap["id"], "3", "delivered", 1, "", NOW + 4)
    job = _job(store, acct, snap)
    assert (job.state, job.progress) == ("working", 75.0)
    assert store.pending_deliveries(snap["id"]) == ["4"]

    store.delivery_ended(snap["id"], "4", "failed", 5, "HTTP 500 from hooks.slack.com", NOW + 5)
    job = _job(store, acct, snap)
    assert (job.state, job.progress) == ("complete", 100.0)
    assert job.deliveries == [
        {"service_id": "4", "type": "slack", "state": "failed", "attempts": 5,
         "error": "HTTP 500 from hooks.slack.com"},
        {"service_id": "3", "type": "mail", "state": "delivered", "attempts": 1, "error": ""},
    ]
    assert store.pending_deliveries(snap["id"]) == []
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 6).deliveries_pending is False


def test_first_delivery_report_wins(store, acct):
    snap = _with_services(store, acct)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1)
    store.delivery_ended(snap["id"], "3", "delivered", 1, "", NOW + 2)
    store.delivery_ended(snap["id"], "3", "failed", 9, "late duplicate", NOW + 3)
    (d,) = [d for d in _job(store, acct, snap).deliveries if d["service_id"] == "3"]
    assert (d["state"], d["attempts"], d["error"]) == ("delivered", 1, "")
    assert _job(store, acct, snap).progress == 75.0


def test_redelivered_success_with_pending_deliveries_keeps_progress(store, acct):
    snap = _with_services(store, acct)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1)
    store.delivery_ended(snap["id"], "3", "delivered", 1, "", NOW + 2)
    # Still pending deliveries, so the caller is told to (re)queue them, but the job does not move back.
    assert store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 3).deliveries_pending is True
    assert _job(store, acct, snap).progress == 75.0


def test_failure_report_after_the_image_is_stored_does_not_fail_the_job(store, acct):
    snap = _with_services(store, acct)
    store.render_succeeded(snap["id"], snap["assigned_image_key"], NOW + 1)
    store.render_failed(snap["id"], "the image could not be stored after 4 attempts", NOW + 2)
    job = _job(store, acct, snap)
    assert (job.state, job.errors) == ("working", [])


# -- queue bookkeeping ----------------------------------------------------------------------------------

def test_unpublished_and_mark_published(store, acct):
    old = _create(store, acct, now=NOW - 100)
    new = _create(store, acct, now=NOW)
    assert store.unpublished(older_than=NOW - 10) == [(acct, old["id"])]
    assert sorted(store.unpublished(older_than=NOW + 1)) == sorted([(acct, old["id"]), (acct, new["id"])])
    store.mark_published(old["id"], NOW)
    assert store.unpublished(older_than=NOW + 1) == [(acct, new["id"])]


def test_unpublished_only_lists_queued_jobs(store, acct):
    snap = _create(store, acct, now=NOW - 100)
    store.render_started(snap["id"], NOW)
    assert store.unpublished(older_than=NOW + 1) == []


def test_unpublished_limit(store, acct):
    for _ in range(3):
        _create(store, acct, now=NOW - 100)
    assert len(store.unpublished(older_than=NOW, limit=2)) == 2


def test_unpublished_oldest_first_and_failed_past_the_deadline(store, acct):
    newer = _create(store, acct, now=NOW + 100)
    older = _create(store, acct, now=NOW)
    published = _create(store, acct, now=NOW + 50)
    store.mark_published(published["id"], NOW + 51)
    assert [sid for _, sid in store.unpublished(NOW + 1000)] == [older["id"], newer["id"]]

    [late] = store.open_jobs_created_before(NOW + 50)
    assert (late.snapshot_id, late.rendered, late.render_seq) == (older["id"], False, None)
    assert store.render_failed(late.snapshot_id, "queue unreachable", NOW + 60) is True
    assert store.render_failed(late.snapshot_id, "a second sweeper", NOW + 61) is False  # claimed once
    job = _job(store, acct, older)
    assert (job.state, job.errors) == ("failed", ["queue unreachable"])
    assert [sid for _, sid in store.unpublished(NOW + 1000)] == [newer["id"]]
    assert _job(store, acct, published).state == "queued"


def test_create_answers_what_get_reads_back(store, acct):
    created = store.create(acct, validate(_input(tags=({"name": "env", "values": ["prod"]},), message="hi"), NOW),
                           NOW)
    assert created == store.get(acct, created["id"])


def test_open_jobs_past_a_deadline_are_the_unfinished_ones(store, acct):
    stalled, done = _create(store, acct), _create(store, acct)
    for snap in (stalled, done):
        store.render_started(snap["id"], NOW + 1)
    store.render_succeeded(done["id"], done["assigned_image_key"], NOW + 2)
    recent = _create(store, acct, now=NOW + 10)
    store.render_started(recent["id"], NOW + 10)

    assert [j.snapshot_id for j in store.open_jobs_created_before(NOW + 5)] == [stalled["id"]]
    assert store.render_failed(stalled["id"], "stopped", NOW + 20)
    assert (_job(store, acct, stalled).state, _job(store, acct, stalled).errors) == ("failed", ["stopped"])
    assert _job(store, acct, done).state == "complete"
    assert _job(store, acct, recent).state == "working"
    assert store.open_jobs_created_before(NOW + 5) == []
