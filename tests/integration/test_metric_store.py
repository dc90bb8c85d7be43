"""The measurement and metric stores on each engine (SQLite and PostgreSQL):
legacy and tagged samples of the same name and tags are two series and a read
takes one origin; a summary is stored as its mean with its deviation; the
first sample of a name makes its metric, later ones change nothing; PUT
creates and updates; the list pages by name."""

from __future__ import annotations

import math
from typing import Iterator

import pytest
from sqlalchemy import Engine, select

from chartsnap import errors
from snapshot_svc import measurements as m
from snapshot_svc import metric_rules
from snapshot_svc.accounts import AccountStore
from snapshot_svc.measurements import MeasurementStore, validate_samples
from snapshot_svc.metric_catalog import MetricCatalog
from snapshot_svc.pagination import page_from
from snapshot_svc.tables import points, series
from tests.databases import migrated_engine

NOW = 2_000_000


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = migrated_engine(database_url)
    yield engine
    engine.dispose()


def _account(engine: Engine, email: str = "owner@example.com") -> int:
    return AccountStore(engine).create(email, "Owner")[0].id


def _submit(store: MeasurementStore, account: int, raws: list[dict], origin: str = m.TAGGED, **batch) -> None:
    good, bad = validate_samples(raws, batch.get("tags", {}), batch.get("time"), NOW, batch.get("period"), origin)
    assert bad == {}
    store.submit(account, good)


def test_legacy_and_tagged_samples_of_the_same_tags_are_two_series(engine: Engine) -> None:
    account = _account(engine)
    store = MeasurementStore(engine)
    web1 = {"has_tags": True, "tags": {"source": "web1"}}
    _submit(store, account, [{"name": "cpu", "value": 10.0, "time": 1000, **web1}], m.LEGACY)
    _submit(store, account, [{"name": "cpu", "value": 90.0, "time": 1000, **web1}], m.TAGGED)
    with engine.connect() as conn:
        rows = conn.execute(select(series.c.origin, series.c.tags)).all()
        assert sorted(rows) == [("legacy", '{"source":"web1"}'), ("tagged", '{"source":"web1"}')]
        assert conn.execute(select(points.c.value).order_by(points.c.value)).scalars().all() == [10.0, 90.0]
    # A read takes one origin, never a mixture: the tagged where any match, else the legacy.
    assert [s.points for s in store.query(account, "cpu", 1000, 1000, 60, {"source": "WEB*"})] == [[(960, 90.0)]]
    assert [s.points for s in store.query(account, "cpu", 1000, 1000, 60, {}, origin=m.LEGACY)] == [[(960, 10.0)]]
    _submit(store, account, [{"name": "cpu", "value": 20.0, "time": 1000, "has_tags": True,
                              "tags": {"source": "web2"}}], m.LEGACY)
    assert [s.tags for s in store.query(account, "cpu", 1000, 1000, 60, {"source": "web2"})] == [{"source": "web2"}]
    with pytest.raises(errors.NotFound):
        store.query(account, "cpu", 1000, 1000, 60, {"source": "web3"})


def test_a_summary_is_stored_as_its_mean_with_its_deviation(engine: Engine) -> None:
    account = _account(engine)
    store = MeasurementStore(engine)
    _submit(store, account, [{"name": "lat", "count": 3, "sum": 12.0, "min": 2.0, "max": 6.0, "last": 6.0,
                              "stddev_m2": 8.0, "time": 1000}])
    with engine.connect() as conn:
        row = conn.execute(select(points)).one()
    assert (row.value, row.count, row.sum, row.min, row.max, row.last) == (4.0, 3, 12.0, 2.0, 6.0, 6.0)
    assert row.stddev == pytest.approx(math.sqrt(8 / 3))
    assert [s.points for s in store.query(account, "lat", 1000, 1000, 60, {})] == [[(960, 4.0)]]


def test_the_first_sample_of_a_name_makes_its_metric_and_later_ones_change_nothing(engine: Engine) -> None:
    account = _account(engine)
    store, catalog = MeasurementStore(engine), MetricCatalog(engine)
    _submit(store, account, [{"name": "Temp", "value": 1.0, "period": 60,
                              "attributes": {"display_units_short": "°F", "display_min": 0}},
                             {"name": "temp", "value": 2.0, "period": 10}])
    _submit(store, account, [{"name": "reqs", "value": 5.0, "type": "counter"}], m.LEGACY)
    _submit(store, account, [{"name": "temp", "value": 3.0, "period": 300, "attributes": {"color": "#000000"}}])
    assert catalog.get(account, "TEMP") == {"name": "temp", "type": "gauge", "display_name": None,
                                            "description": None, "period": 60,
                                            "attributes": {"display_units_short": "°F", "display_min": 0}}
    assert catalog.get(account, "reqs")["type"] == "counter"
    other = _account(engine, "other@example.com")
    with pytest.raises(errors.NotFound):
        catalog.get(other, "temp")  # another account's metric is not found


def test_put_creates_with_a_type_and_updates_without_one(engine: Engine) -> None:
    account = _account(engine)
    catalog = MetricCatalog(engine)
    with pytest.raises(errors.InvalidParams) as exc:
        catalog.put(account, metric_rules.metric_update("queue_len", None, "n", None, None, None, []))
    assert list(exc.value.fields) == ["type"]
    created, metric = catalog.put(account, metric_rules.metric_update(
        "queue_len", "gauge", "num. elements", "Length of app queue", None, None, []))
    assert created and metric["display_name"] == "num. elements" and metric["period"] is None
    created, metric = catalog.put(account, metric_rules.metric_update(
        "Queue_Len", "counter", None, None, 15, {"display_min": "0", "color": "#52D74C"}, ["description"]))
    assert not created and metric == {"name": "queue_len", "type": "gauge", "display_name": "num. elements",
                                      "description": None, "period": 15,
                                      "attributes": {"display_min": 0, "color": "#52D74C"}}
    _, metric = catalog.put(account, metric_rules.metric_update("queue_len", None, None, None, None,
                                                                {"color": None}, []))
    assert metric["attributes"] == {"display_min": 0}


def test_the_list_pages_in_name_order_and_filters_by_name(engine: Engine) -> None:
    account = _account(engine)
    store, catalog = MeasurementStore(engine), MetricCatalog(engine)
    _submit(store, account, [{"name": n, "value": 1.0} for n in ("app_requests", "cpu_temp", "db.requests", "b")])
    _submit(store, _account(engine, "other@example.com"), [{"name": "zzz.requests", "value": 1.0}])
    found, total, items = catalog.list(account, page_from(0, 2, "", "", ("name",)))
    assert (found, total, [i["name"] for i in items]) == (4, 4, ["app_requests", "b"])
    found, total, items = catalog.list(account, page_from(1, 0, "", "desc", ("name",)), "REQUEST")
    assert (found, total, [i["name"] for i in items]) == (2, 4, ["app_requests"])
    found, _, items = catalog.list(account, page_from(0, 0, "", "", ("name",)), "%")
    assert (found, items) == (0, [])  # the filter is a substring, not a LIKE pattern


def test_a_legacy_counter_is_drawn_as_the_deltas_of_its_values(engine: Engine) -> None:
    account = _account(engine)
    store = MeasurementStore(engine)
    reported = [(1000, 100.0), (1010, 200.0), (1020, 350.0), (1030, 400.0), (1040, 30.0), (1050, 50.0)]
    _submit(store, account, [{"name": "hits", "value": v, "time": t, "type": "counter", "has_tags": True,
                              "tags": {"source": "r1"}} for t, v in reported], m.LEGACY)
    # 100, 200, 350, 400 draw as 100, 150, 50; the drop to 30 starts a new run (30), then 20.
    (hits,) = store.query(account, "hits", 1000, 1050, 10, {}, origin=m.LEGACY)
    assert hits.points == [(1010, 100.0), (1020, 150.0), (1030, 50.0), (1040, 30.0), (1050, 20.0)]
    assert store.query(account, "hits", 1000, 1050, 60, {}, summary_function="sum")[0].points == [
        (960, 100.0), (1020, 250.0)]
    by = store.bucketed_by([sid for sid, _ in store.matching_series(account, "hits", [])], 1000, 1050, 60, "max",
                           "sum")  # a chart stream's summary and downsample functions
    assert list(by.values()) == [[(960, 100.0), (1020, 250.0)]]
    # A gauge of the same values is drawn as reported.
    _submit(store, account, [{"name": "level", "value": v, "time": t, "type": "gauge"} for t, v in reported[:2]],
            m.LEGACY)
    assert store.query(account, "level", 1000, 1010, 10, {})[0].points == [(1000, 100.0), (1010, 200.0)]
