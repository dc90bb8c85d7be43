"""snapshot_svc.snapshot_summary: the one line about a snapshot's frozen data."""

from __future__ import annotations

import pytest

from snapshot_svc.snapshot_summary import MAX_CHARS, NO_DATA, format_number, summary_of

T = 1_764_685_920.0  # 2025-12-02 14:32:00 UTC


def _body(*series, chart_type="line", zone="UTC", units="", start=T - 3600, end=T + 600,  # noqa: ANN001
          big=None) -> dict:  # noqa: ANN001
    return {"chart_type": chart_type, "timezone": zone, "units_short": units, "big_value": big,
            "window": {"start": start, "end": end},
            "series": [{"label": label, "metric": label, "tags": {}, "color": "", "times": [p[0] for p in points],
                        "values": [p[1] for p in points]} for label, points in series]}


def test_the_example_line():
    body = _body(("queue.depth", [(T - 60, 1200.0), (T, 4210.0), (T + 60, 380.0)]),
                 ("queue.other", [(T, 10.0)]), ("queue.third", [(T, 20.0)]))
    assert summary_of(body) == "queue.depth peaked at 4,210 at 14:32 UTC, ended at 380; 3 streams"


def test_one_stream_says_no_count():
    assert summary_of(_body(("cpu", [(T, 42.5), (T + 60, 40.0)]))) == "cpu peaked at 42.5 at 14:32 UTC, ended at 40"


def test_times_are_in_the_snapshots_zone_with_its_abbreviation():
    body = _body(("cpu", [(T, 5.0)]), zone="America/New_York")
    assert summary_of(body) == "cpu peaked at 5 at 09:32 EST, ended at 5"
    summer = _body(("cpu", [(T - 150 * 86400, 5.0)]), zone="Europe/Berlin", start=T - 150 * 86400 - 60,
                   end=T - 150 * 86400 + 60)
    assert "CEST" in summary_of(summer)


def test_a_window_over_a_day_names_the_date():
    body = _body(("cpu", [(T, 5.0)]), start=T - 7 * 86400, end=T)
    assert summary_of(body) == "cpu peaked at 5 at Dec 2 14:32 UTC, ended at 5"


def test_units_short_follow_the_numbers():
    assert summary_of(_body(("lat", [(T, 1234.0), (T + 60, 20.0)]), units="ms")) == (
        "lat peaked at 1,234 ms at 14:32 UTC, ended at 20 ms")
    assert summary_of(_body(("cpu", [(T, 99.5)]), units="%")) == "cpu peaked at 99.5% at 14:32 UTC, ended at 99.5%"


def test_the_stream_with_the_highest_peak_names_the_line():
    body = _body(("low", [(T, 1.0)]), ("high", [(T + 60, 9.0), (T + 120, 2.0)]))
    assert summary_of(body) == "high peaked at 9 at 14:33 UTC, ended at 2; 2 streams"


def test_negative_values():
    assert summary_of(_body(("temp", [(T, -5.0), (T + 60, -12.25)]))) == (
        "temp peaked at -5 at 14:32 UTC, ended at -12.25")


@pytest.mark.parametrize("series", [(), (("cpu", []),), (("cpu", [(T, None)]), ("mem", []))])
def test_no_data_in_the_window(series):
    assert summary_of(_body(*series)) == NO_DATA


def test_bignumber():
    assert summary_of(_body(("api.latency", [(T, 40.0)]), chart_type="bignumber", units="ms", big=42.0)) == (
        "api.latency is 42 ms")
    assert summary_of(_body(("api.latency", []), chart_type="bignumber")) == f"api.latency: {NO_DATA}"
    assert summary_of(_body(chart_type="bignumber", big=3.0)) == "the value is 3"
    titled = {**_body(("api.latency", [(T, 40.0)]), chart_type="bignumber", units="ms", big=2031.25),
              "drawing": {"title": "Latency"}}
    assert summary_of(titled) == "Latency is 2,031.2 ms"  # the chart's name, as the tile shows it


def test_bounded_and_one_line_whatever_the_labels():
    label = "web\n" + "x" * 500
    line = summary_of(_body((label, [(T, 1.0)]), *[(f"s{i}", [(T, 0.0)]) for i in range(30)], units="u" * 300))
    assert len(line) <= MAX_CHARS and "\n" not in line
    assert line.startswith("web xxxx") and "…" in line


@pytest.mark.parametrize("value, text", [
    (0, "0"), (0.25, "0.25"), (1234.5, "1,234.5"), (4210, "4,210"), (1_000_000, "1,000,000"), (-5, "-5"),
    (99.999, "100"), (3e20, "3e+20"), (0.0001, "0.0001"), (1.0 / 3, "0.333"), (12.345, "12.35"),
])
def test_numbers(value, text):
    assert format_number(value) == text
