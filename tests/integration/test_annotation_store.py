"""AnnotationStore on SQLite and PostgreSQL: the same answers from the same
statements (windows, sources with wildcards and LIKE's own characters taken
literally, pages, names in bytewise order), first events racing to make one
stream, and a deleted stream taking its events with it."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from sqlalchemy import Engine, func, select

from chartsnap import errors
from snapshot_svc.accounts import AccountStore
from snapshot_svc.annotations import AnnotationEvent, AnnotationStore, EventChange, EventWindow
from snapshot_svc.pagination import Page
from snapshot_svc.tables import annotation_events, annotation_streams
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(300)]

T0 = 1_700_000_000
EVENTS = Page(0, 100, "start_time", False)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> AnnotationStore:
    return AnnotationStore(engine)


def _account(engine: Engine, email: str = "owner@example.com") -> int:
    return AccountStore(engine).create(email, "Owner")[0].id


def test_streams_are_listed_by_name_bytewise_and_filtered(engine: Engine, store: AnnotationStore) -> None:
    account = _account(engine)
    for name in ("beta", "Alpha", "_x", "a.b", "a_b", "aXb"):
        store.create_event(account, name, "t", start_time=T0)
    found, total, page = store.list_streams(account, Page(0, 10, "name", False))
    assert (found, total) == (6, 6)
    assert [s["name"] for s in page] == ["_x", "a.b", "a_b", "alpha", "axb", "beta"]
    # LIKE's % and _ in the filter are the characters themselves.
    assert [s["name"] for s in store.list_streams(account, Page(0, 10, "name", False), "A_")[2]] == ["a_b"]
    assert store.list_streams(account, Page(0, 10, "name", False), "%")[:2] == (0, 6)
    assert [s["name"] for s in store.list_streams(account, Page(1, 2, "name", True))[2]] == ["axb", "alpha"]


def test_a_streams_events_by_window_and_sources(engine: Engine, store: AnnotationStore) -> None:
    account = _account(engine)
    for i, source in enumerate(["db1.acme", "db2.acme", "db_3", "dbX3", None, "web%1"]):
        store.create_event(account, "deploys", f"e{i}", start_time=T0 + 10 * i, source=source)
    def titles(window: EventWindow, page: Page = EVENTS) -> list[str]:
        return [e["title"] for e in store.get_stream(account, "deploys", window, page, now=T0 + 1000)["events"]]
    assert titles(EventWindow()) == ["e0", "e1", "e2", "e3", "e4", "e5"]
    assert titles(EventWindow(T0 + 10, T0 + 30)) == ["e1", "e2", "e3"]
    assert titles(EventWindow(start=T0 + 40)) == ["e4", "e5"]  # ends now
    assert titles(EventWindow(end=T0 + 10)) == ["e0", "e1"]
    assert titles(EventWindow(sources=("db*",))) == ["e0", "e1", "e2", "e3"]
    assert titles(EventWindow(sources=("db_3",))) == ["e2"]  # _ is no wildcard
    assert titles(EventWindow(sources=("web%1", "db2.*"))) == ["e1", "e5"]
    assert titles(EventWindow(), Page(2, 2, "start_time", False)) == ["e2", "e3"]
    stream = store.get_stream(account, "deploys", EventWindow(sources=("db*",)), Page(1, 2, "start_time", False))
    assert stream["query"] == {"found": 4, "length": 2, "offset": 1, "total": 6}
    with pytest.raises(errors.InvalidParams) as bad:
        store.get_stream(account, "deploys", EventWindow(T0 + 10, T0), EVENTS)
    assert "end_time" in bad.value.fields
    with pytest.raises(errors.InvalidParams):
        store.get_stream(account, "deploys", EventWindow(sources=tuple(f"s{i}" for i in range(51))), EVENTS)


def test_events_in_window_on_both_engines(engine: Engine, store: AnnotationStore) -> None:
    account, other = _account(engine), _account(engine, "other@example.com")
    store.create_event(account, "deploys", "span", start_time=T0 - 100, end_time=T0 + 1, source="web1")
    store.create_event(account, "outages", "point", start_time=T0 + 30)
    store.create_event(account, "outages", "ended before", start_time=T0 - 100, end_time=T0)
    store.create_event(other, "deploys", "theirs", start_time=T0 + 10)
    assert store.events_in_window(account, ["*"], T0, T0 + 60, 100) == [
        AnnotationEvent("deploys", "span", T0 - 100, T0 + 1, "web1"),
        AnnotationEvent("outages", "point", T0 + 30, None, "")]
    assert store.unknown_stream_names(account, ["DEPLOYS", "nope", "*"]) == ["nope"]


def test_updates_and_links(engine: Engine, store: AnnotationStore) -> None:
    account = _account(engine)
    event = store.create_event(account, "deploys", "v1", start_time=T0)
    changed = store.update_event(account, "deploys", event["id"], EventChange(
        title="v1.1", description="rolled", end_time=T0 + 60,
        links=[{"rel": "ci", "href": "https://ci.example.com/1"}]))
    assert (changed["title"], changed["description"], changed["end_time"]) == ("v1.1", "rolled", T0 + 60)
    with pytest.raises(errors.InvalidParams):  # the end before the stored start
        store.update_event(account, "deploys", event["id"], EventChange(end_time=T0 - 1))
    assert store.update_event(account, "deploys", event["id"], EventChange(clear_end_time=True))["end_time"] is None
    store.add_link(account, "deploys", event["id"], {"rel": "github", "href": "http://github.com/x", "label": "c"})
    with pytest.raises(errors.AlreadyExists):
        store.add_link(account, "deploys", event["id"], {"rel": "github", "href": "http://github.com/y"})
    store.delete_link(account, "deploys", event["id"], "ci")
    assert store.get_event(account, "deploys", event["id"])["links"] == [
        {"rel": "github", "href": "http://github.com/x", "label": "c"}]
    stream = store.update_stream(account, "Deploys", "Deploys to API", None)
    assert stream == {"name": "deploys", "display_name": "Deploys to API", "description": None}
    assert store.update_stream(account, "deploys", "", "what we shipped")["display_name"] is None


def test_first_events_at_once_make_one_stream(engine: Engine, store: AnnotationStore) -> None:
    account = _account(engine)
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def first_event(i: int) -> None:
        try:
            start.wait(timeout=30)
            store.create_event(account, "fresh", f"e{i}", start_time=T0 + i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=first_event, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(annotation_streams)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(annotation_events)).scalar_one() == 8


def test_deleting_a_stream_deletes_its_events(engine: Engine, store: AnnotationStore) -> None:
    account = _account(engine)
    event = store.create_event(account, "gone", "e", start_time=T0)
    store.create_event(account, "kept", "e", start_time=T0)
    store.delete_stream(account, "gone")
    with pytest.raises(errors.NotFound):
        store.get_event(account, "gone", event["id"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(annotation_events)).scalar_one() == 1
    # Made again by its next first event, empty but for it.
    store.create_event(account, "gone", "again", start_time=T0)
    assert [e["title"] for e in store.get_stream(account, "gone", EventWindow(), EVENTS)["events"]] == ["again"]
