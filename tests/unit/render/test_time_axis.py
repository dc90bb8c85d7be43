"""The time axis in a time zone: captions and ticks, DST changes included."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from bench import sample_charts as sc
from render_svc.chart_plan import plan_figure
from render_svc.time_axis import window_caption, zoned_ticks

NY = "America/New_York"


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_utc_caption_is_unchanged() -> None:
    assert window_caption(_utc("2024-05-01T14:05"), _utc("2024-05-01T15:05")) == "2024-05-01 14:05 – 15:05 UTC"
    assert window_caption(_utc("2024-05-01T23:05"), _utc("2024-05-02T01:05")) == \
        "2024-05-01 23:05 – 2024-05-02 01:05 UTC"


def test_new_york_caption_in_summer_and_winter() -> None:
    assert window_caption(_utc("2024-05-01T14:05"), _utc("2024-05-01T15:05"), NY) == "2024-05-01 10:05 – 11:05 EDT"
    assert window_caption(_utc("2024-01-15T14:05"), _utc("2024-01-15T15:05"), NY) == "2024-01-15 09:05 – 10:05 EST"
    # Local midnight, not UTC's, decides whether the date is repeated.
    assert window_caption(_utc("2024-05-02T02:00"), _utc("2024-05-02T03:30"), NY) == \
        "2024-05-01 22:00 – 23:30 EDT"


def test_caption_across_a_dst_change_names_both_zones() -> None:
    # 2024-11-03: New York's clocks go back from 02:00 EDT to 01:00 EST (06:00 UTC).
    assert window_caption(_utc("2024-11-03T04:30"), _utc("2024-11-03T07:30"), NY) == \
        "2024-11-03 00:30 EDT – 02:30 EST"


def test_zone_without_an_abbreviation_says_its_offset() -> None:
    assert window_caption(_utc("2024-05-01T14:05"), _utc("2024-05-01T15:05"), "America/Sao_Paulo") == \
        "2024-05-01 11:05 – 12:05 UTC-03"


def test_ticks_at_round_local_times() -> None:
    ticks = zoned_ticks(_utc("2024-05-01T14:05"), _utc("2024-05-01T15:05"), NY, 524, multi_day=False)
    assert [label for _, label in ticks] == ["10:10", "10:20", "10:30", "10:40", "10:50", "11:00"]
    assert ticks[0][0] == _utc("2024-05-01T14:10") * 1000


def test_ticks_in_a_half_hour_zone_are_on_its_own_hours() -> None:
    ticks = zoned_ticks(_utc("2024-05-01T12:00"), _utc("2024-05-01T18:00"), "Asia/Kolkata", 524, multi_day=False)
    # 12:00 UTC is 17:30 IST: the ticks are on IST's whole hours, half past UTC's.
    assert [label for _, label in ticks] == ["18:00", "19:00", "20:00", "21:00", "22:00", "23:00"]
    assert ticks[0][0] == _utc("2024-05-01T12:30") * 1000


def test_autumn_dst_change_repeats_the_hour_and_says_so() -> None:
    ticks = zoned_ticks(_utc("2024-11-03T04:00"), _utc("2024-11-03T07:00"), NY, 524, multi_day=False)
    labels = [label for _, label in ticks]
    assert labels == ["00:00", "00:30", "01:00", "01:30", "01:00 EST", "01:30", "02:00"]
    instants = [t for t, _ in ticks]
    # True instants, evenly spaced, never folding back.
    assert all(b - a == 1800_000 for a, b in zip(instants, instants[1:]))


def test_spring_dst_change_skips_the_hour() -> None:
    # 2024-03-10: 02:00 EST becomes 03:00 EDT (07:00 UTC).
    ticks = zoned_ticks(_utc("2024-03-10T05:00"), _utc("2024-03-10T08:00"), NY, 524, multi_day=False)
    labels = [label for _, label in ticks]
    assert labels == ["00:00", "00:30", "01:00", "01:30", "03:00 EDT", "03:30", "04:00"]
    instants = [t for t, _ in ticks]
    assert all(b - a == 1800_000 for a, b in zip(instants, instants[1:]))


def test_multi_day_ticks_at_local_midnight() -> None:
    ticks = zoned_ticks(_utc("2024-05-01T00:00"), _utc("2024-05-05T00:00"), NY, 524, multi_day=True)
    assert [label for _, label in ticks] == ["May 01", "May 02", "May 03", "May 04"]
    assert all(datetime.fromtimestamp(t / 1000, tz=timezone.utc).hour == 4 for t, _ in ticks)


def test_plan_carries_the_zone_ticks_and_caption_only_outside_utc() -> None:
    spec = sc.stacked_chart()
    assert plan_figure(spec).window.ticks is None
    plan = plan_figure(dataclasses.replace(spec, timezone=NY))
    assert plan.window.caption == "2024-05-01 10:05 – 11:05 EDT"
    assert [label for _, label in plan.window.ticks] == ["10:10", "10:20", "10:30", "10:40", "10:50", "11:00"]
    big = plan_figure(dataclasses.replace(sc.big_number_chart(), timezone=NY))
    assert big.caption == "2024-05-01 10:05 – 11:05 EDT"


@pytest.mark.parametrize("span_s", [5, 50, 600, 3 * 3600, 2 * 86400, 40 * 86400, 400 * 86400, 30 * 365 * 86400])
def test_every_window_length_gets_a_handful_of_ticks(span_s: float) -> None:
    end = _utc("2024-05-01T15:05")
    ticks = zoned_ticks(end - span_s, end, NY, 524, multi_day=span_s > 86400)
    assert 2 <= len(ticks) <= 12
    assert all(end - span_s <= t / 1000 <= end for t, _ in ticks)
