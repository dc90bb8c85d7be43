"""Every annotation query that can grow is served by an index on PostgreSQL,
as tests/integration/test_query_plans.py checks the other stores': 2,000
accounts, 20,000 streams, 200,000 events over two years (one stream of the
probed account a heavy one, 20,000 events), ANALYZEd; each store call runs
once while its statements are recorded, and no plan reads a big table by a
sequential scan. The markers' query reads a bounded range of the
(stream, start_time) index, however old the stream."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Engine, insert, text

from devstack.postgres import ThrowawayPostgres
from snapshot_svc.accounts import AccountStore, token_digest
from snapshot_svc.annotations import AnnotationStore, EventWindow
from snapshot_svc.pagination import Page
from snapshot_svc.tables import accounts, annotation_events, annotation_streams
from tests.databases import migrated_engine
from tests.integration.test_query_plans import _recorded, _scans

pytestmark = [pytest.mark.timeout(600)]

NOW = int(time.time())
ACCOUNTS = 2_000
STREAMS = 20_000
EVENTS = 200_000
HEAVY = 20_000            # events of the probed account's heaviest stream
TWO_YEARS = 2 * 366 * 86_400
BIG_TABLES = {"accounts", "annotation_streams", "annotation_events"}


@pytest.fixture(scope="module")
def filled(postgres_cluster: ThrowawayPostgres) -> Iterator[tuple[Engine, int]]:
    engine = migrated_engine(postgres_cluster.create_database("annotation_plans"))
    try:
        yield engine, _fill(engine)
    finally:
        engine.dispose()


def _fill(engine: Engine) -> int:
    probed, _token = AccountStore(engine).create("probed@example.com", "Probed")
    with engine.begin() as conn:
        conn.execute(insert(accounts), [{"email": f"user{i}@example.com", "full_name": "", "created_at": NOW,
                                         "token_sha256": token_digest(str(i))} for i in range(ACCOUNTS - 1)])
        account_ids = [probed.id] + list(conn.execute(text("SELECT id FROM accounts WHERE id <> :p ORDER BY id"),
                                                      {"p": probed.id}).scalars())
        conn.execute(insert(annotation_streams), [
            {"account_id": account_ids[i % ACCOUNTS], "name": f"stream-{i}", "created_at": NOW}
            for i in range(STREAMS)])
        stream_ids = list(conn.execute(text("SELECT id FROM annotation_streams ORDER BY id")).scalars())
        heavy = conn.execute(text("SELECT id FROM annotation_streams WHERE name = 'stream-0'")).scalar()
        rows = [{"stream_id": heavy if i < HEAVY else stream_ids[i % STREAMS], "title": f"e{i}",
                 "source": f"web{i % 7}", "start_time": NOW - TWO_YEARS + (i * 7919) % TWO_YEARS,
                 "end_time": None if i % 3 else NOW - TWO_YEARS + (i * 7919) % TWO_YEARS + 600,
                 "links": [], "created_at": NOW} for i in range(EVENTS)]
        for at in range(0, EVENTS, 20_000):
            conn.execute(insert(annotation_events), rows[at:at + 20_000])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return probed.id


def _calls(store: AnnotationStore, account: int) -> dict[str, Callable[[], object]]:
    hour = EventWindow(NOW - 3600, NOW)
    return {
        "streams of an account by name, filtered": lambda: store.list_streams(account, Page(0, 100, "name", False),
                                                                              "stream-1"),
        "a stream's events in a window": lambda: store.get_stream(account, "stream-0", hour,
                                                                 Page(0, 100, "start_time", False)),
        "a stream's events from some sources": lambda: store.get_stream(
            account, "stream-0", EventWindow(NOW - 86_400, NOW, ("web1", "web*")), Page(0, 100, "start_time", False)),
        "one event": lambda: store.get_event(account, "stream-0", 1),
        "names a snapshot asks for": lambda: store.unknown_stream_names(account, ["stream-0", "nope"]),
        "markers of every stream": lambda: store.events_in_window(account, ["*"], NOW - 3600, NOW, 100),
        "markers of one stream": lambda: store.events_in_window(account, ["stream-0"], NOW - 86_400, NOW, 100),
    }


def test_every_growing_annotation_query_is_served_by_an_index(filled: tuple[Engine, int]) -> None:
    engine, account = filled
    report, problems = [], []
    for label, call in _calls(AnnotationStore(engine), account).items():
        used: set[str] = set()
        for statement, parameters in _recorded(engine, call):
            with engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
            for node in _scans((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]):
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
                    problems.append(f"{label}: Seq Scan on {node['Relation Name']} in\n  {statement}")
                if "Index Name" in node:
                    used.add(node["Index Name"])
        report.append(f"{label:45} {', '.join(sorted(used)) or '-'}")
    print("\n" + "\n".join(report))
    assert not problems, "\n".join(problems)
