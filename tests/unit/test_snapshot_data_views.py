"""gateway.snapshot_data_views: content negotiation, the JSON and the CSV of a
snapshot's frozen data (CSV cells safe from formula injection)."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from chartsnap.v1 import snapshots_pb2
from gateway.snapshot_data_views import CSV, JSON, data_csv, data_json, negotiate, safe_cell

BASE = "https://charts.example.com"


@pytest.mark.parametrize("accept, chosen", [
    (None, JSON), ("", JSON), ("   ", JSON), ("*/*", JSON), ("application/json", JSON), ("text/csv", CSV),
    ("text/*", CSV), ("application/*", JSON), ("TEXT/CSV", CSV), ("text/csv; charset=utf-8", CSV),
    ("application/json;q=0.5, text/csv", CSV), ("text/csv;q=0.4, application/json;q=0.9", JSON),
    ("text/csv, application/json", JSON),  # a tie: our preference
    ("text/html, */*;q=0.1", JSON), ("text/html, text/*;q=0.2", CSV),
    ("*/*;q=0.1, text/csv;q=0", JSON),  # the specific range's q=0 refuses CSV despite */*
    ("garbage", JSON), ("text/csv;q=banana, application/json", JSON),
])
def test_negotiation(accept, chosen):
    assert negotiate(accept) == chosen


@pytest.mark.parametrize("accept", [
    "application/xml", "image/png", "text/html", "application/json;q=0", "text/csv;q=0, application/json;q=0",
    "*/*;q=0", "text/*;q=0, application/xml",
])
def test_nothing_acceptable(accept):
    assert negotiate(accept) is None


def test_an_endless_accept_is_read_only_so_far():
    # The ranges past the first MAX_ACCEPT_RANGES are not read: text/csv at the end is not seen.
    assert negotiate(", ".join(["image/png"] * 10_000) + ", text/csv") is None
    assert negotiate(", ".join(["image/png"] * 10) + ", text/csv") == CSV


def _data(**kw) -> snapshots_pb2.SnapshotData:  # noqa: ANN003
    data = snapshots_pb2.SnapshotData(
        snapshot_id=7, start=1_700_000_000, end=1_700_003_600, resolution=12, timezone="Europe/Berlin",
        chart_type="line", png_sha256="ab" * 32, summary="cpu peaked at 3 at 23:13 CET, ended at 2",
        units_short="%", series=[
            snapshots_pb2.DataSeries(label="web-1", metric="cpu", tags={"host": "web-1", "env": "prod"},
                                     times=[1_700_000_000, 1_700_000_012], values=[1.5, math.nan]),
            snapshots_pb2.DataSeries(label="=HYPERLINK(\"http://evil\")", metric="cpu", times=[1_700_000_000],
                                     values=[-3.25]),
        ], **kw)
    data.taken_at.FromSeconds(1_700_003_601)
    return data


def test_json_holds_the_window_resolution_series_digest_and_summary():
    out = data_json(_data(), BASE)
    json.dumps(out, allow_nan=False)
    assert out["start_time"] == "2023-11-14T22:13:20Z" and out["end_time"] == "2023-11-14T23:13:20Z"
    assert (out["duration"], out["resolution"], out["timezone"], out["png_sha256"]) == (3600, 12, "Europe/Berlin",
                                                                                        "ab" * 32)
    assert out["series"][0] == {"label": "web-1", "metric": "cpu", "tags": {"host": "web-1", "env": "prod"},
                                "measurements": [{"time": 1_700_000_000, "value": 1.5},
                                                 {"time": 1_700_000_012, "value": None}]}
    assert "big_value" not in out
    assert data_json(_data(big_value=42.0), BASE)["big_value"] == 42.0
    assert data_json(snapshots_pb2.SnapshotData(snapshot_id=1), BASE)["png_sha256"] is None


def test_csv_one_row_per_point_and_no_formula():
    rows = list(csv.reader(io.StringIO(data_csv(_data()))))
    assert rows == [
        ["time", "series", "metric", "tags", "value"],
        ["2023-11-14T22:13:20Z", "web-1", "cpu", "env=prod;host=web-1", "1.5"],
        ["2023-11-14T22:13:32Z", "web-1", "cpu", "env=prod;host=web-1", ""],
        ["2023-11-14T22:13:20Z", "'=HYPERLINK(\"http://evil\")", "cpu", "", "-3.25"],
    ]


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["web-1", "", "a=b", "1e5", "'quoted"])
def test_other_text_is_kept(text):
    assert safe_cell(text) == text


def test_csv_quotes_what_would_break_rows():
    data = snapshots_pb2.SnapshotData(series=[snapshots_pb2.DataSeries(
        label='a,"b"\nc', metric="m", tags={"k": "v;w=x"}, times=[0], values=[1.0])])
    [header, row] = list(csv.reader(io.StringIO(data_csv(data))))
    assert row == ["1970-01-01T00:00:00Z", 'a,"b"\nc', "m", "k=v;w=x", "1.0"]
