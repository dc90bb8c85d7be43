"""The schema under migrations, on SQLite and on PostgreSQL (a throwaway
cluster): one head; empty → head; the previous head (0001) with data in every
table → head with the data intact; a database made by create_all() before
migrations existed is stamped and upgraded; the migrated schema is exactly
snapshot_svc.tables (and 0001 exactly the frozen baseline), so neither can
drift from the migrations; upgrades run at once take turns; and a service
started on a schema that is behind stops naming `chartsnap db upgrade`."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, select, text

from devstack.postgres import ThrowawayPostgres
from tests.databases import POSTGRESQL, SQLITE
from snapshot_svc import schema
from snapshot_svc.accounts import AccountStore
from snapshot_svc.database import make_engine
from snapshot_svc.measurements import MeasurementStore, canonical_tags, tags_digest, validate_samples
from snapshot_svc.migrations import baseline_tables
from snapshot_svc.server import start_snapshot_service
from snapshot_svc.settings import SnapshotSettings
from snapshot_svc.snapshots import SnapshotStore
from snapshot_svc.tables import metadata

pytestmark = [pytest.mark.timeout(180)]

NOW = 1_700_000_000.0
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(postgres_cluster: ThrowawayPostgres) -> ThrowawayPostgres:
    """The run's throwaway cluster (tests/conftest.py); each test makes its own databases in it."""
    return postgres_cluster


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def new_url(request, tmp_path, cluster) -> Callable[[], str]:  # noqa: ANN001
    """Makes a new empty database of the backend; returns its URL."""
    def make() -> str:
        name = f"migrate_{next(_names)}"
        return f"sqlite:///{tmp_path / name}.db" if request.param == SQLITE else cluster.create_database(name)
    return make


@pytest.fixture
def engine(new_url) -> Iterator[Engine]:  # noqa: ANN001
    engine = make_engine(new_url())
    yield engine
    engine.dispose()


def _differences(engine: Engine, target: MetaData) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), target)


def test_there_is_one_head() -> None:
    heads = ScriptDirectory.from_config(schema._config()).get_heads()  # noqa: SLF001 - the one config
    assert heads == [schema.head()]


def test_empty_to_head_makes_exactly_the_tables_of_the_code(engine: Engine) -> None:
    assert schema.upgrade(engine) == (None, schema.head())
    assert _differences(engine, metadata) == []
    assert schema.require_current(engine) == schema.head()
    assert schema.upgrade(engine) == (schema.head(), schema.head())  # again: nothing to do
    if engine.dialect.name == POSTGRESQL:  # compare_metadata does not look at collations
        with engine.connect() as conn:
            assert set(conn.execute(text(
                "SELECT table_name || '.' || column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND collation_name IS NOT NULL")).all()) == {
        ("spaces.name", "C"), ("destinations.title", "C"), ("metrics.name", "C"), ("annotation_streams.name", "C")}


def test_the_baseline_revision_is_the_frozen_baseline(engine: Engine) -> None:
    assert schema.upgrade(engine, schema.BASELINE) == (None, schema.BASELINE)
    assert _differences(engine, baseline_tables.metadata) == []
    schema.upgrade(engine)
    with engine.begin() as conn:  # and back down
        command.downgrade(schema._config(conn), schema.BASELINE)  # noqa: SLF001 - the one config
    assert _differences(engine, baseline_tables.metadata) == []


# -- from the previous head, with data ----------------------------------------------------------

WIDE_TAGS = {"host": "web-1", "env": "prod"}


def _baseline_rows() -> dict[str, list[dict]]:
    """One or two rows in every table, as revision 0001 holds them."""
    return {
        "accounts": [{"id": 1, "email": "old@example.com", "full_name": "Old", "token_sha256": "a" * 64,
                      "created_at": NOW}],
        "spaces": [{"id": 1, "account_id": 1, "name": "Ops", "created_at": NOW}],
        "charts": [{"id": 1, "account_id": 1, "space_id": 1, "name": "cpu", "type": "line",
                    "body": {"streams": [{"metric": "cpu"}]}, "created_at": NOW}],
        "series": [{"id": 1, "account_id": 1, "metric": "cpu", "tags": canonical_tags(WIDE_TAGS)},
                   {"id": 2, "account_id": 1, "metric": "cpu", "tags": canonical_tags({})}],
        "points": [{"series_id": 1, "time": 1000, "value": 2.0, "count": 2, "sum": 4.0, "min": 1.0, "max": 3.0,
                    "last": 3.0}],
        "snapshots": [{"id": 1, "account_id": 1, "chart_id": 1, "chart_type": "line", "duration": 3600,
                       "end_time": NOW, "width": 600, "height": 416, "sources": ["*"],
                       "narrowing": {"tags": [], "source": None}, "services": ["1"], "message": "hi",
                       "image_key": "chart/x-1.png", "image_ready": True, "created_at": NOW, "updated_at": NOW}],
        "jobs": [{"id": 1, "account_id": 1, "snapshot_id": 1, "state": "working", "progress": 50.0,
                  "errors": [], "published_at": NOW, "created_at": NOW, "updated_at": NOW, "render_seq": 7,
                  "render_publishes": 1, "render_checked_at": None, "render_gone_at": None}],
        "destinations": [{"id": 1, "account_id": 1, "title": "ops", "type": "slack",
                          "settings": {"url": "https://hooks.example.com/x"}, "created_at": NOW}],
        "deliveries": [{"snapshot_id": 1, "service_id": "1", "type": "slack", "state": "pending", "attempts": 0,
                        "error": None, "position": 0, "dispatched_at": NOW, "request_seq": 3}],
        "idempotency_keys": [{"account_id": 1, "key": "k", "request_sha256": "b" * 64, "snapshot_id": 1,
                              "created_at": NOW}],
    }


def _fill_baseline(engine: Engine) -> dict[str, list[dict]]:
    rows = _baseline_rows()
    assert set(rows) == set(baseline_tables.metadata.tables)  # every table has data
    with engine.begin() as conn:
        for table in baseline_tables.metadata.sorted_tables:
            conn.execute(insert(table), rows[table.name])
        if conn.dialect.name == POSTGRESQL:  # rows inserted with their ids: move the sequences past them
            for table in ("accounts", "spaces", "charts", "series", "snapshots", "jobs", "destinations"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
    return rows


def _read(engine: Engine, rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    found = {}
    with engine.connect() as conn:
        for name, wanted in rows.items():
            table = metadata.tables[name]
            columns = [table.c[c] for c in wanted[0]]
            found[name] = [dict(r._mapping) for r in conn.execute(select(*columns).order_by(*table.primary_key))]
    return found


def test_the_previous_head_with_data_is_upgraded_intact(engine: Engine) -> None:
    schema.upgrade(engine, schema.BASELINE)
    rows = _fill_baseline(engine)
    assert schema.upgrade(engine) == (schema.BASELINE, schema.head())
    assert _read(engine, rows) == rows
    assert _differences(engine, metadata) == []
    with engine.connect() as conn:
        digests = dict(conn.execute(text("SELECT id, tags_sha256 FROM series")).all())
    assert digests == {r["id"]: tags_digest(r["tags"]) for r in rows["series"]}
    # The stores find the old rows: a sample of an old series lands in it, not in a new one.
    store = MeasurementStore(engine)
    good, _ = validate_samples([{"name": "cpu", "value": 5.0, "time": 1060, "has_tags": True, "tags": WIDE_TAGS}],
                               {}, None, 2000)
    store.submit(1, good)
    assert [(sid, tags) for sid, tags in store.matching_series(1, "cpu", [])] == [(1, WIDE_TAGS), (2, {})]
    assert store.bucketed([1], 0, 2000, 60) == {1: [(960, 2.0), (1020, 5.0)]}
    job = SnapshotStore(engine).get_job(1, 1)
    assert (job.state, job.progress, job.deliveries[0]["state"]) == ("working", 50.0, "pending")
    account, _ = AccountStore(engine).create("new@example.com")
    assert account.id > 1


def test_a_database_made_before_migrations_is_stamped_and_upgraded(engine: Engine) -> None:
    baseline_tables.metadata.create_all(engine)  # what start-up did before migrations: no alembic_version
    with engine.begin() as conn:  # ...by a version older still, without the later job columns
        conn.execute(text("DROP INDEX ix_jobs_render_seq"))
        for column in ("render_seq", "render_publishes", "render_checked_at", "render_gone_at"):
            conn.execute(text(f"ALTER TABLE jobs DROP COLUMN {column}"))
    assert schema.current(engine) is None
    with pytest.raises(schema.SchemaNotCurrent):
        schema.require_current(engine)
    assert schema.upgrade(engine) == (None, schema.head())
    assert schema.current(engine) == schema.head()
    assert _differences(engine, metadata) == []


def test_upgrades_run_at_once_take_turns(new_url) -> None:  # noqa: ANN001
    """Replicas each running `chartsnap db upgrade` as they start, on one fresh database."""
    url = new_url()
    engines = [make_engine(url) for _ in range(3)]
    results: list[object] = [None] * len(engines)
    start = threading.Barrier(len(engines))

    def run(i: int) -> None:
        start.wait(timeout=30)
        try:
            results[i] = schema.upgrade(engines[i])
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert sorted(results, key=str) == sorted([(None, schema.head())] + [(schema.head(), schema.head())] * 2,
                                                  key=str)
        assert _differences(engines[0], metadata) == []
    finally:
        for e in engines:
            e.dispose()


# -- a schema behind stops the service -------------------------------------------------------------

@pytest.mark.parametrize("revision", [None, schema.BASELINE])
async def test_the_service_refuses_a_schema_behind_naming_the_command(new_url, revision, tmp_path) -> None:  # noqa: ANN001
    url = new_url()
    if revision is not None:
        engine = make_engine(url)
        schema.upgrade(engine, revision)
        engine.dispose()
    settings = SnapshotSettings.from_env({"CHARTSNAP_DATABASE_URL": url, "CHARTSNAP_DATA_DIR": str(tmp_path)})
    with pytest.raises(schema.SchemaNotCurrent, match=f"run `{schema.UPGRADE_COMMAND}`"):
        await start_snapshot_service(settings)

    done = subprocess.run([sys.executable, "-m", "snapshot_svc"], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2],
                          env={**os.environ, "CHARTSNAP_DATABASE_URL": url, "CHARTSNAP_DATA_DIR": str(tmp_path),
                               "CHARTSNAP_SNAPSHOT_ADDR": "127.0.0.1:0", "CHARTSNAP_SNAPSHOT_METRICS_ADDR": "127.0.0.1:0"})
    assert done.returncode != 0
    assert f"run `{schema.UPGRADE_COMMAND}`" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # The command it names makes it current.
    upgraded = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "db", "upgrade"], capture_output=True,
                              text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
                              env={**os.environ, "CHARTSNAP_DATABASE_URL": url, "CHARTSNAP_DATA_DIR": str(tmp_path)})
    assert upgraded.returncode == 0, upgraded.stderr
    engine = make_engine(url)
    try:
        assert schema.require_current(engine) == schema.head()
    finally:
        engine.dispose()
