"""MeasurementStore.bucketed_by on SQLite and PostgreSQL: a chart stream's
downsample_function over its summary_function, bucket by bucket, the same
answers on both engines; and build_render_request drawing with it."""

from __future__ import annotations

import pytest

from snapshot_svc.accounts import AccountStore
from snapshot_svc.measurements import MeasurementStore, Sample
from snapshot_svc.render_data import build_render_request
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(120)]

BUCKET = 60
T0 = 1_700_000_040  # a bucket boundary: 1_700_000_040 % 60 == 0


def _summary(t: int, count: int, total: float, lo: float, hi: float) -> Sample:
    return Sample("lat", {"host": "a"}, t, total / count, count, total, lo, hi, hi)


@pytest.fixture
def store_and_series(database_url):
    engine = migrated_engine(database_url)
    account, _ = AccountStore(engine).create("store@example.com", "Store")
    store = MeasurementStore(engine)
    # Bucket 0: two summaries (count 2, mean 2, min 1, max 3) and (count 4, mean 5, min 0, max 20).
    # Bucket 1: one plain value 7.
    store.submit(account.id, [_summary(T0 + 1, 2, 4.0, 1.0, 3.0), _summary(T0 + 30, 4, 20.0, 0.0, 20.0),
                              Sample("lat", {"host": "a"}, T0 + 61, 7.0, 1, 7.0, 7.0, 7.0, 7.0)])
    ((sid, _tags),) = store.matching_series(account.id, "lat", [])
    yield store, sid, account.id
    engine.dispose()


@pytest.mark.parametrize("statistic, downsample, first_bucket", [
    ("average", "average", (2.0 + 5.0) / 2),   # the mean of the samples' means
    ("average", "max", 5.0), ("average", "min", 2.0), ("average", "sum", 7.0),
    ("average", "count", 2.0),                 # two samples in the bucket
    ("max", "average", (3.0 + 20.0) / 2), ("max", "max", 20.0), ("max", "min", 3.0),
    ("min", "max", 1.0), ("min", "min", 0.0),
    ("sum", "average", 12.0), ("sum", "sum", 24.0), ("sum", "max", 20.0),
    ("count", "sum", 6.0), ("count", "average", 3.0), ("count", "max", 4.0),
])
def test_downsample_over_summary(store_and_series, statistic, downsample, first_bucket):
    store, sid, _ = store_and_series
    data = store.bucketed_by([sid], T0, T0 + 119, BUCKET, statistic, downsample)
    assert [t for t, _ in data[sid]] == [T0, T0 + 60]
    assert data[sid][0][1] == pytest.approx(first_bucket)
    single = {"average": 7.0, "max": 7.0, "min": 7.0, "sum": 7.0, "count": 1.0}[statistic]
    assert data[sid][1][1] == pytest.approx(1.0 if downsample == "count" else single)


def test_unset_downsample_is_the_natural_rollup(store_and_series):
    store, sid, _ = store_and_series
    natural = store.bucketed([sid], T0, T0 + 119, BUCKET, "average")
    assert natural[sid][0][1] == pytest.approx(24.0 / 6)  # sum over count, not the mean of means


def test_no_series_no_rows(store_and_series):
    store, _, _ = store_and_series
    assert store.bucketed_by([], T0, T0 + 119, BUCKET, "average", "max") == {}


def test_window_bounds_are_inclusive(store_and_series):
    store, sid, _ = store_and_series
    assert [t for t, _ in store.bucketed_by([sid], T0 + 30, T0 + 30, BUCKET, "average", "max")[sid]] == [T0]


def test_render_request_draws_the_downsampled_transformed_stream(store_and_series):
    store, _, account_id = store_and_series
    chart = {"name": "Latency", "type": "line", "thresholds": [], "streams": [{
        "metric": "lat", "summary_function": "max", "downsample_function": "max", "transform_function": "x*1000",
        "period": 60, "name": "p100", "units_short": "ms", "color": "#aa0000"}]}
    snap = {"id": 1, "job_id": 1, "assigned_image_key": "chart/k-1.png", "end_time": float(T0 + 3600),
            "duration": 3600, "width": 600, "height": 416, "chart_type": "line", "account_id": account_id,
            "narrowing": {"tags": [], "source": None}}
    (line,) = build_render_request(store, chart, snap, 0.0).series
    assert (line.label, line.color, line.metric, dict(line.tags)) == ("p100", "#aa0000", "lat", {})
    assert list(line.times) == [T0, T0 + 60]  # 60 s buckets: the period, a multiple of the chart's 12 s
    assert list(line.values) == [20_000.0, 7_000.0]


def test_metric_display_reads_the_metrics_period_and_attributes(database_url):
    engine = migrated_engine(database_url)
    try:
        account, _ = AccountStore(engine).create("display@example.com", "Display")
        store = MeasurementStore(engine)
        attributes = {"display_units_short": "ms", "display_max": 250, "color": "#123456"}
        store.submit(account.id, [Sample("svc.latency", {"host": "a"}, T0, 1.0, 1, 1.0, 1.0, 1.0, 1.0, period=30,
                                         attributes=attributes)])
        assert store.metric_display(account.id, "svc.latency") == (30, attributes)
        assert store.metric_display(account.id, "SVC.LATENCY") == (30, attributes)
        assert store.metric_display(account.id, "other") == (None, {})
        other, _ = AccountStore(engine).create("other@example.com", "Other")
        assert store.metric_display(other.id, "svc.latency") == (None, {})
    finally:
        engine.dispose()
