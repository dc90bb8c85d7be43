"""The time axis in a time zone: its caption and, outside UTC, its ticks.

BokehJS formats datetimes in UTC only. Shifting the data by the zone's offset
would fold a line back on itself where the clocks go back (an autumn night
has two 01:30s), so the x axis keeps true instants and, for a zone other than
UTC, the ticks are chosen here instead: at round *local* clock times (every
10 minutes, every hour, every local midnight...), each converted to its
instant with the zone's rules, so a DST change inside the window gives ticks
that are right on both sides of it (a skipped hour has no ticks; a repeated
hour has its ticks twice, the second time with the new abbreviation, "01:00
EST"). The figure draws them with a FixedTicker and its labels as the axis'
label overrides. UTC keeps bokeh's own DatetimeTicker (and its pixels).

Plain data and arithmetic (zoneinfo; no bokeh model is built here).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

from render_svc.render_options import UTC_ZONE, zone_info

# Tick spacings below a day, in seconds; each divides a day, so ticks can be
# aligned on local midnight.
_CLOCK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY_STEPS = (1, 2, 7, 14)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)
_ONE_DAY_S = 86400
# About one tick per this many pixels of the plot's width (bokeh's own ticker aims at ~6 on 600 px).
_PX_PER_TICK = 85
MAX_TICKS = 40


def zone_of(name: str) -> tzinfo:
    """The tzinfo of a resolved zone name (render_svc.render_options.resolve_timezone)."""
    if name == UTC_ZONE:
        return timezone.utc
    zone = zone_info(name)
    return zone if zone is not None else timezone.utc


def abbreviation(moment: datetime) -> str:
    """The zone's abbreviation at ``moment`` ("EDT", "UTC"); zones without one say "UTC-03"."""
    name = moment.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def window_caption(start_s: float, end_s: float, zone_name: str = UTC_ZONE) -> str:
    """The x axis label: "2024-05-01 10:05 – 11:05 EDT", or with both
    abbreviations when the window crosses a DST change, and both dates when
    it crosses a (local) midnight."""
    zone = zone_of(zone_name)
    start = datetime.fromtimestamp(start_s, tz=zone)
    end = datetime.fromtimestamp(end_s, tz=zone)
    start_abbr, end_abbr = abbreviation(start), abbreviation(end)
    end_text = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%Y-%m-%d %H:%M}"
    if start_abbr == end_abbr:
        return f"{start:%Y-%m-%d %H:%M} – {end_text} {end_abbr}"
    return f"{start:%Y-%m-%d %H:%M} {start_abbr} – {end_text} {end_abbr}"


def zoned_ticks(start_s: float, end_s: float, zone_name: str, plot_width_px: int,
                multi_day: bool) -> tuple[tuple[float, str], ...]:
    """(epoch ms, label) of every tick inside [start_s, end_s], at round local times."""
    if not end_s > start_s:
        return ()
    zone = zone_of(zone_name)
    wanted = max(2, plot_width_px // _PX_PER_TICK)
    span_s = end_s - start_s
    clock_step = next((s for s in _CLOCK_STEPS_S if span_s / s <= wanted), None)
    if clock_step is not None:
        instants = _clock_ticks(start_s, end_s, zone, clock_step)
        if clock_step < 60:
            pattern = "%H:%M:%S"
        else:
            pattern = "%b %d %H:%M" if multi_day else "%H:%M"
    else:
        day_step = next((d for d in _DAY_STEPS if span_s / (d * _ONE_DAY_S) <= wanted), None)
        if day_step is not None:
            instants, pattern = _day_ticks(start_s, end_s, zone, day_step), "%b %d"
        else:
            months = next((m for m in _MONTH_STEPS if span_s / (m * 30.4 * _ONE_DAY_S) <= wanted), _MONTH_STEPS[-1])
            instants, pattern = _month_ticks(start_s, end_s, zone, months), "%b %Y"
    ticks: list[tuple[float, str]] = []
    previous_offset: timedelta | None = None
    for instant in instants[:MAX_TICKS]:
        local = datetime.fromtimestamp(instant, tz=zone)
        label = local.strftime(pattern)
        offset = local.utcoffset()
        if previous_offset is not None and offset != previous_offset:
            # The clocks changed since the previous tick: say to which time.
            label = f"{label} {abbreviation(local)}"
        previous_offset = offset
        ticks.append((instant * 1000.0, label))
    return tuple(ticks)


def _instants_of(local_times: list[datetime], zone: tzinfo, start_s: float, end_s: float) -> list[float]:
    """The instants (epoch s) in the window at which the zone's clocks show
    one of ``local_times`` (naive): none for a time the clocks skip, two for
    one they show twice."""
    found: set[float] = set()
    for naive in local_times:
        for fold in (0, 1):
            aware = naive.replace(tzinfo=zone, fold=fold)
            instant = aware.timestamp()
            if datetime.fromtimestamp(instant, tz=zone).replace(tzinfo=None) != naive:
                continue  # skipped by a DST change
            if start_s <= instant <= end_s:
                found.add(instant)
    return sorted(found)


def _clock_ticks(start_s: float, end_s: float, zone: tzinfo, step_s: int) -> list[float]:
    first = datetime.fromtimestamp(start_s, tz=zone).replace(tzinfo=None)
    last = datetime.fromtimestamp(end_s, tz=zone).replace(tzinfo=None)
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    since_midnight = (first - midnight).total_seconds()
    local = midnight + timedelta(seconds=since_midnight // step_s * step_s)
    step = timedelta(seconds=step_s)
    # A DST change can stretch the local span by an hour: walk one hour past it.
    stop = last + timedelta(hours=1)
    local_times: list[datetime] = []
    while local <= stop and len(local_times) < 4 * MAX_TICKS:
        local_times.append(local)
        local += step
    return _instants_of(local_times, zone, start_s, end_s)


def _day_ticks(start_s: float, end_s: float, zone: tzinfo, step_days: int) -> list[float]:
    first = datetime.fromtimestamp(start_s, tz=zone).date()
    last = datetime.fromtimestamp(end_s, tz=zone).date()
    local_times: list[datetime] = []
    day = first
    while day <= last and len(local_times) < 4 * MAX_TICKS:
        local_times.append(datetime(day.year, day.month, day.day))
        day += timedelta(days=step_days)
    return _instants_of(local_times, zone, start_s, end_s)


def _month_ticks(start_s: float, end_s: float, zone: tzinfo, step_months: int) -> list[float]:
    first = datetime.fromtimestamp(start_s, tz=zone).date()
    last = datetime.fromtimestamp(end_s, tz=zone).date()
    month_index = first.year * 12 + first.month - 1
    month_index -= month_index % step_months
    local_times: list[datetime] = []
    while len(local_times) < 4 * MAX_TICKS:
        day = date(month_index // 12, month_index % 12 + 1, 1)
        if day > last:
            break
        local_times.append(datetime(day.year, day.month, day.day))
        month_index += step_months
    return _instants_of(local_times, zone, start_s, end_s)
