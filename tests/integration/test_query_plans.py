"""Every query of the snapshot service that can grow is served by an index on
PostgreSQL. A throwaway cluster is filled with realistic amounts (20 000
snapshots, jobs, spaces, charts, destinations, series and idempotency keys,
40 000 deliveries, 100 000 points; most jobs long finished, a few open, as a
running service has them), ANALYZEd, and each store call runs once while its
statements are recorded; PostgreSQL's plan of each (EXPLAIN, planner settings
untouched) must read no big table by a sequential scan. The test prints which
index serves which call."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import Engine, event, insert, text

from devstack.postgres import ThrowawayPostgres
from snapshot_svc.accounts import AccountStore, token_digest
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.measurements import MeasurementStore, canonical_tags, tags_digest, validate_samples
from snapshot_svc.pagination import Page
from snapshot_svc.settings import JobBounds
from snapshot_svc.snapshots import RENDERED, IdempotencyClaim, SnapshotStore
from snapshot_svc.sweeping import SWEEP_BATCH, SWEEP_LEASE, UNPUBLISHED_GRACE
from snapshot_svc.tables import (accounts, charts, deliveries, destinations, idempotency_keys, jobs, points, series,
                                 snapshots, spaces)
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(600)]

NOW = time.time()
ACCOUNTS = 2_000
ROWS = 20_000                      # snapshots, jobs, spaces, charts, destinations, series, idempotency keys
PROBED_SNAPSHOTS = 1_000           # the probed account is a heavy one: 5 % of all snapshots
POINTS_PER_SERIES = 5
OPEN = {"working": 200, "published": 200, "unpublished": 100}  # open jobs; the rest are long finished
PENDING_DELIVERIES = 300
BOUNDS = JobBounds()
BIG_TABLES = {t.name for t in (accounts, spaces, charts, destinations, series, points, snapshots, jobs, deliveries,
                               idempotency_keys)}


@pytest.fixture(scope="module")
def filled(postgres_cluster: ThrowawayPostgres) -> Iterator[tuple[Engine, dict[str, Any]]]:
    """A database of its own in the run's cluster (tests/conftest.py), filled."""
    engine = migrated_engine(postgres_cluster.create_database("query_plans"))
    try:
        yield engine, _fill(engine)
    finally:
        engine.dispose()


def _fill(engine: Engine) -> dict[str, Any]:
    probed, token = AccountStore(engine).create("probed@example.com", "Probed")
    with engine.begin() as conn:
        conn.execute(insert(accounts), [{"email": f"user{i}@example.com", "full_name": "", "created_at": NOW,
                                         "token_sha256": token_digest(str(i))} for i in range(ACCOUNTS - 1)])
        account_ids = [probed.id] + list(conn.execute(text("SELECT id FROM accounts WHERE id <> :p ORDER BY id"),
                                                      {"p": probed.id}).scalars())

        def owner(i: int) -> int:
            return account_ids[i % ACCOUNTS]

        conn.execute(insert(spaces), [{"account_id": owner(i), "name": f"space {i}", "created_at": NOW}
                                      for i in range(ROWS)])
        space_ids = list(conn.execute(text("SELECT id, account_id FROM spaces ORDER BY id")))
        conn.execute(insert(charts), [{"account_id": a, "space_id": s, "name": "c", "type": "line",
                                       "body": {"streams": [{"metric": "cpu"}]}, "created_at": NOW}
                                      for s, a in space_ids])
        conn.execute(insert(destinations), [{"account_id": owner(i), "title": f"dest {i}", "type": "slack",
                                             "settings": {"url": "https://x"}, "created_at": NOW}
                                            for i in range(ROWS)])
        conn.execute(insert(series), [{"account_id": owner(i), "metric": ("cpu", "mem")[i // ACCOUNTS % 2],
                                       "tags": canonical_tags({"host": f"h{i}"}),
                                       "tags_sha256": tags_digest(canonical_tags({"host": f"h{i}"}))}
                                      for i in range(ROWS)])
        series_ids = list(conn.execute(text("SELECT id FROM series ORDER BY id")).scalars())
        conn.execute(insert(points), [{"series_id": s, "time": int(NOW) - 60 * k, "value": 1.0, "count": 1,
                                       "sum": 1.0, "min": 1.0, "max": 1.0, "last": 1.0}
                                      for s in series_ids for k in range(POINTS_PER_SERIES)])

        # Snapshots over the last 30 days, the probed account's among them; the open jobs are the newest.
        snapshot_rows = []
        for i in range(ROWS):
            account = probed.id if i < PROBED_SNAPSHOTS else owner(i)
            created = NOW - (ROWS - i) * 130.0
            snapshot_rows.append({"account_id": account, "chart_id": 1, "chart_type": "line", "duration": 3600,
                                  "end_time": created, "width": 600, "height": 416, "sources": ["*"],
                                  "narrowing": {"tags": [], "source": None}, "services": ["1", "2"],
                                  "message": None, "image_key": f"chart/{i:016d}-{i + 1}.png", "image_ready": True,
                                  "created_at": created, "updated_at": created})
        conn.execute(insert(snapshots), snapshot_rows)
        snaps = list(conn.execute(text("SELECT id, account_id, created_at FROM snapshots ORDER BY created_at")))
        n_open = sum(OPEN.values())
        job_rows, delivery_rows = [], []
        for k, (sid, account, created) in enumerate(snaps):
            open_kind = None
            if k >= ROWS - n_open:
                j = k - (ROWS - n_open)
                open_kind = "working" if j < OPEN["working"] else (
                    "published" if j < OPEN["working"] + OPEN["published"] else "unpublished")
                created = NOW - (n_open - j) * 1.0  # the last few minutes
            job_rows.append({
                "account_id": account, "snapshot_id": sid, "errors": [], "created_at": created, "updated_at": created,
                "state": {"working": "working", "published": "queued", "unpublished": "queued"}.get(open_kind,
                                                                                                       "complete"),
                "progress": {"working": RENDERED, "published": 0.0, "unpublished": 0.0}.get(open_kind, 100.0),
                "published_at": None if open_kind == "unpublished" else created,
                "render_seq": None if open_kind == "unpublished" else k + 1, "render_publishes": 1})
            for position, service in enumerate(("1", "2")):
                pending = open_kind == "working"
                delivery_rows.append({"snapshot_id": sid, "service_id": service, "type": "slack",
                                      "state": "pending" if pending else "delivered", "attempts": 1,
                                      "position": position, "dispatched_at": created, "request_seq": k + 1})
        conn.execute(insert(jobs), job_rows)
        conn.execute(insert(deliveries), delivery_rows)
        # Keys of the last day (the sweeper forgets older ones every few seconds): a few just expired.
        conn.execute(insert(idempotency_keys), [
            {"account_id": owner(i), "key": f"key-{i}", "request_sha256": "0" * 64,
             "snapshot_id": snaps[i].id, "created_at": NOW - 86_400.0 * i / ROWS - 5.0} for i in range(ROWS)])
        probed_snapshot = conn.execute(text("SELECT id FROM snapshots WHERE account_id = :a ORDER BY id LIMIT 1"),
                                       {"a": probed.id}).scalar()
        open_snapshot = conn.execute(text("SELECT snapshot_id FROM jobs WHERE state = 'working' LIMIT 1")).scalar()
        probed_series = list(conn.execute(text("SELECT id FROM series WHERE account_id = :a ORDER BY id"),
                                          {"a": probed.id}).scalars())
        probed_space = conn.execute(text("SELECT id FROM spaces WHERE account_id = :a LIMIT 1"),
                                    {"a": probed.id}).scalar()
        probed_destinations = list(conn.execute(text("SELECT id FROM destinations WHERE account_id = :a"),
                                                {"a": probed.id}).scalars())
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return {"account": probed.id, "email": probed.email, "token": token, "snapshot": probed_snapshot,
            "open_snapshot": open_snapshot, "series": probed_series, "space": probed_space,
            "destinations": [str(d) for d in probed_destinations]}


def _calls(engine: Engine, ids: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """Each query that grows with the data, by the store call that makes it."""
    a = ids["account"]
    snaps, spaces_, dests, measures = (SnapshotStore(engine), SpaceStore(engine), DestinationStore(engine),
                                       MeasurementStore(engine))
    job_id = snaps.get(a, ids["snapshot"])["job_id"]
    samples, _ = validate_samples([{"name": "cpu", "value": 1.0, "has_tags": True, "tags": {"host": "h0"}}],
                                  {}, None, NOW)
    return {
        "account by e-mail (authenticate)": lambda: AccountStore(engine).authenticate(ids["email"], ids["token"]),
        "spaces of an account by name, filtered": lambda: spaces_.list_spaces(a, Page(0, 100, "name", False), "space"),
        "charts of a space": lambda: spaces_.list_charts(a, ids["space"]),
        "destinations of an account by title": lambda: dests.list(a, Page(0, 100, "title", True)),
        "destinations named by a snapshot": lambda: dests.owned(a, tuple(ids["destinations"][:3])),
        "series of an account's metric": lambda: measures.matching_series(a, "cpu", []),
        "series looked up on submit (and the points upsert)": lambda: measures.submit(a, samples),
        "points of series in a time range": lambda: measures.bucketed(ids["series"], int(NOW) - 3600, int(NOW), 60),
        "snapshots of an account by id, a late page": lambda: snaps.list(a, Page(500, 100, "id", True)),
        "snapshots of an account by created_at": lambda: snaps.list(a, Page(0, 100, "created_at", True)),
        "snapshots of an account by end_time": lambda: snaps.list(a, Page(100, 100, "end_time", False)),
        "a snapshot and its job": lambda: (snaps.get(a, ids["snapshot"]), snaps.get_job(a, job_id)),
        "a share page's snapshot by image key": lambda: snaps.shared(f"chart/{ROWS // 2:016d}-{ROWS // 2 + 1}.png"),
        "idempotency key replayed": lambda: snaps.replay(a, IdempotencyClaim("key-0", "0" * 64), NOW),
        "idempotency keys forgotten": lambda: snaps.forget_idempotency_keys(NOW - 86_400.0),
        "unpublished jobs claimed": lambda: snaps.claim_unpublished(NOW - UNPUBLISHED_GRACE, NOW, SWEEP_LEASE,
                                                                    SWEEP_BATCH),
        "open jobs past the deadline": lambda: snaps.open_jobs_created_before(NOW - BOUNDS.job_deadline,
                                                                            SWEEP_BATCH),
        "render requests to look up": lambda: snaps.requests_to_check(NOW - BOUNDS.lost_request_grace,
                                                                      NOW - BOUNDS.lost_request_grace, SWEEP_BATCH),
        "the job at a render stream sequence": lambda: snaps.open_snapshot_at_seq(ROWS - 10),
        "deliveries past their deadline": lambda: snaps.deliveries_dispatched_before(
            NOW - BOUNDS.delivery_deadline, SWEEP_BATCH),
        "a snapshot's pending deliveries": lambda: snaps.pending_deliveries(ids["open_snapshot"]),
        "a delivery ended (locks the job)": lambda: snaps.delivery_ended(ids["open_snapshot"], "1", "delivered", 1,
                                                                         "", NOW),
        "deliveries dispatched": lambda: snaps.mark_dispatched(ids["open_snapshot"], {"2": 5}, NOW),
        "the deadline fails pending deliveries": lambda: snaps.fail_pending_deliveries(ids["open_snapshot"], "x",
                                                                                      NOW),
    }


def _recorded(engine: Engine, call: Callable[[], object]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):  # noqa: ANN001
        verb = statement.lstrip().split(None, 1)[0].upper()
        if not executemany and verb in {"SELECT", "UPDATE", "DELETE", "INSERT", "WITH"}:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def _scans(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


def test_every_growing_query_is_served_by_an_index(filled: tuple[Engine, dict[str, Any]]) -> None:
    engine, ids = filled
    report, problems = [], []
    for label, call in _calls(engine, ids).items():
        used: set[str] = set()
        for statement, parameters in _recorded(engine, call):
            with engine.connect() as conn:
                plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
            nodes = list(_scans((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]))
            for node in nodes:
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
                    problems.append(f"{label}: Seq Scan on {node['Relation Name']} in\n  {statement}")
                if "Index Name" in node:
                    used.add(node["Index Name"])
        report.append(f"{label:55} {', '.join(sorted(used)) or '-'}")
    print("\n" + "\n".join(report))
    assert not problems, "\n".join(problems)
