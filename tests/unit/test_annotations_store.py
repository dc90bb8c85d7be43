"""AnnotationStore on SQLite: the events a snapshot draws (a window, named
streams or every stream, earliest first, bounded) and the names it may use."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from chartsnap import errors
from snapshot_svc.annotations import MAX_ANNOTATIONS_PER_SNAPSHOT, AnnotationEvent, AnnotationStore

NOW = 1_700_000_000


@pytest.fixture
def store(db_engine: Engine) -> AnnotationStore:
    return AnnotationStore(db_engine)


def test_unknown_stream_names_are_those_the_account_has_not_made(store, acct, other_acct) -> None:
    store.create_event(acct, "deploys", "v1", start_time=NOW)
    store.create_event(other_acct, "outages", "db down", start_time=NOW)
    assert store.unknown_stream_names(acct, ["deploys", "Deploys", "outages", "nope"]) == ["outages", "nope"]
    assert store.unknown_stream_names(acct, ["*"]) == []
    assert store.unknown_stream_names(acct, []) == []


def test_events_in_window_overlap_the_window_earliest_first(store, acct) -> None:
    store.create_event(acct, "deploys", "before", start_time=NOW - 100)
    store.create_event(acct, "deploys", "at the start", start_time=NOW)
    store.create_event(acct, "deploys", "span ending at the start", start_time=NOW - 50, end_time=NOW)
    store.create_event(acct, "deploys", "span into the window", start_time=NOW - 50, end_time=NOW + 1)
    store.create_event(acct, "outages", "inside", start_time=NOW + 30, source="db1")
    store.create_event(acct, "deploys", "at the end", start_time=NOW + 60)
    store.create_event(acct, "deploys", "after", start_time=NOW + 61)
    events = store.events_in_window(acct, ["*"], NOW, NOW + 60, 100)
    assert [e.title for e in events] == ["span into the window", "at the start", "inside", "at the end"]
    assert events[0] == AnnotationEvent("deploys", "span into the window", NOW - 50, NOW + 1, "")
    assert events[2] == AnnotationEvent("outages", "inside", NOW + 30, None, "db1")
    only = store.events_in_window(acct, ["Outages"], NOW, NOW + 60, 100)
    assert [e.title for e in only] == ["inside"]


def test_events_in_window_are_the_accounts_own_and_bounded(store, acct, other_acct) -> None:
    store.create_event(other_acct, "deploys", "theirs", start_time=NOW)
    for i in range(5):
        store.create_event(acct, "deploys", f"ours {i}", start_time=NOW + i)
    assert [e.title for e in store.events_in_window(acct, ["deploys"], NOW, NOW + 10, 3)] == [
        "ours 0", "ours 1", "ours 2"]
    assert [e.title for e in store.events_in_window(other_acct, ["*"], NOW, NOW + 10, 100)] == ["theirs"]
    assert store.events_in_window(acct, [], NOW, NOW + 10, 100) == []
    assert store.events_in_window(acct, ["nope"], NOW, NOW + 10, 100) == []
    assert MAX_ANNOTATIONS_PER_SNAPSHOT == 100


def test_create_event_makes_the_stream_on_first_use_and_checks_its_fields(store, acct) -> None:
    event = store.create_event(acct, "Deploys", "v2", start_time=NOW, end_time=NOW + 5,
                               description="rolled", source="web1",
                               links=[{"rel": "github", "href": "https://example.com/c/1", "label": "commit"}])
    assert event["title"] == "v2" and event["start_time"] == NOW and event["end_time"] == NOW + 5
    assert event["links"] == [{"rel": "github", "href": "https://example.com/c/1", "label": "commit"}]
    with pytest.raises(errors.InvalidParams) as bad:
        store.create_event(acct, "bad name!", "", start_time=NOW, end_time=NOW - 1,
                           links=[{"rel": "x", "href": "javascript:alert(1)"}])
    assert set(bad.value.fields) == {"name", "title", "end_time", "links[0].href"}
    assert store.create_event(acct, "deploys", "now", now=NOW + 7)["start_time"] == NOW + 7
