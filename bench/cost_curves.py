"""What a snapshot costs as its data, its series and its image grow (a phase
of `make bench`; alone: python -m bench --skip-render-only --skip-end-to-end
--skip-rollup-cost --skip-ingest-cost).

A whole stack on free ports (devstack's Stack, SQLite), and, seeded into its
database before the services start, one series of per-second samples (10^7
by default: 116 days) and 40 series of 12-second samples over the last hour.
Then, as a user sees it, POST /v1/snapshots → the job `complete` (polled
every 5 ms, as bench.end_to_end does), one snapshot at a time:

- vs raw points in the window: the one series over 10^3 … 10^7 seconds
  (= raw points), 600×416;
- vs series per chart: 1, 10 and 40 lines (a breakout of the 40 hosts), 1 hour;
- vs image size: the 1-line chart at 600×416, 1200×832 and 2400×1664.

Beside each, the floor in the same run: bokeh's own export_png with a reused
Chromium (bench.stock_export) drawing the same data (the RenderRequest the
snapshot service builds for that snapshot, read in this process) at the same
size; and for the points, the snapshot's data read in this process with the
rollups and, as before rollups, over every raw point.

Seeding: through MeasurementStore.submit would take minutes at 10^7, so the
points are inserted by one SQL statement per million (a recursive CTE, the
rows the store writes for a plain sample: checked against the one sample of
the series that goes through the store), then the rollups are rebuilt by
migrations 0006's and 0007's own backfills (minutes from the points, hours
from the minutes, days from the hours) and checked against the raw read at two windows. Retention is raised
for the run so that nothing is swept while it is measured."""

from __future__ import annotations

import importlib.util
import logging
import math
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import requests

log = logging.getLogger(__name__)

POINT_WINDOWS = (10**3, 10**4, 10**5, 10**6, 10**7)  # seconds of per-second samples = raw points
SERIES_COUNTS = (1, 10, 40)
IMAGE_SIZES = ((600, 416), (1200, 832), (2400, 1664))  # the API's width × height (100 to 4000 each)
HOSTS_WINDOW = 3600
HOSTS_STEP = 12  # a 600 px hour reads 12 s buckets: one sample each
POINTS_METRIC = "bench.curve.points"
HOSTS_METRIC = "bench.curve.hosts"
POLL_INTERVAL_S = 0.005  # between two GETs of a job (bench.end_to_end's default)
SNAPSHOT_TIMEOUT_S = 120.0  # one snapshot, create → complete: far beyond any render's own timeout
CHECKED_WINDOWS = (10**5, 10**6)  # rollups compared with the raw read: minute rows, then hour rows
ROWS_PER_INSERT = 1_000_000  # points per seeding statement (and transaction: a bounded WAL)
# Kept for the run: the whole 116 days at every resolution (raw <= minutes <= hours must hold).
RETENTION_ENV = {"CHARTSNAP_RAW_RETENTION_DAYS": "200", "CHARTSNAP_MINUTE_RETENTION_DAYS": "200",
                 "CHARTSNAP_HOUR_RETENTION_DAYS": "1095"}
# A sample's value at second x, the same in SQL and Python: a 2-hour triangle and some jitter.
VALUE_SQL = "(abs((x % 7200) - 3600) / 36.0 + (x * 7919 % 101) / 10.0)"


def sample_value(x: int) -> float:
    return abs((x % 7200) - 3600) / 36.0 + (x * 7919 % 101) / 10.0


@dataclass(frozen=True)
class CurvePlan:
    snapshots: int = 10       # create → complete per point of a curve
    warm_up: int = 1          # untimed snapshots per point first (its chart's first read, a bigger page)
    stock: int = 4            # export_png per point, after one untimed
    data_reads: int = 5       # in-process reads per window with the rollups
    raw_reads: int = 3        # ... over every raw point (one at the largest window: ~20 s at 10^7)
    largest_window: int = POINT_WINDOWS[-1]

    @property
    def windows(self) -> tuple[int, ...]:
        return tuple(w for w in POINT_WINDOWS if w <= self.largest_window)


SMOKE_PLAN = CurvePlan(snapshots=2, warm_up=1, stock=1, data_reads=1, raw_reads=1, largest_window=10**4)


def plan_for(smoke: bool, largest_window: int | None = None) -> CurvePlan:
    """The full plan (a smoke run's), with another largest window if given."""
    plan = SMOKE_PLAN if smoke else CurvePlan()
    return CurvePlan(**{**asdict(plan), "largest_window": largest_window}) if largest_window else plan


@dataclass(frozen=True)
class Config:
    """One point of a curve: a chart over a window at a size."""

    curve: str      # points | series | image_size
    x: int          # raw points, series, or width
    chart: str      # the key of the chart it draws
    duration: int
    width: int = 600
    height: int = 416


def configs(plan: CurvePlan) -> list[Config]:
    out = [Config("points", w, "points", w) for w in plan.windows]
    out += [Config("series", n, f"hosts-{n}", HOSTS_WINDOW) for n in SERIES_COUNTS]
    out += [Config("image_size", w, "hosts-1", HOSTS_WINDOW, w, h) for w, h in IMAGE_SIZES]
    return out


def _hosts(n: int) -> list[str]:
    return [f"h{i:02d}" for i in range(1, n + 1)]


def chart_bodies() -> dict[str, dict]:
    """The charts, as POST /v1/spaces/:id/charts takes them (and render_data reads them)."""
    charts = {"points": {"name": "Per-second samples", "type": "line", "streams": [{"metric": POINTS_METRIC}]}}
    for n in SERIES_COUNTS:
        charts[f"hosts-{n}"] = {"name": f"{n} hosts", "type": "line", "streams": [
            {"metric": HOSTS_METRIC, "tags": [{"name": "host", "values": _hosts(n)}], "group_function": "breakout"}]}
    return charts


# --- seeding ------------------------------------------------------------------

def _backfills() -> tuple[Callable[[Any], None], ...]:
    """Migrations 0006's and 0007's rollup backfills (the one home of that SQL:
    minutes and hours from the points, days from the hours), after a check
    that their columns are still every rollup field."""
    from snapshot_svc import rollup_rules, schema

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up says hello at INFO
    modules = []
    for name in ("0006_rollups.py", "0007_day_rollups.py"):
        path = schema.MIGRATIONS / "versions" / name
        spec = importlib.util.spec_from_file_location(f"chartsnap_migration_{name[:4]}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    frozen = {*modules[0].INTEGER_FIELDS, *modules[0].FLOAT_FIELDS, "last", "last_time"}  # 0007 shares them
    if frozen != set(rollup_rules.FIELDS):
        raise RuntimeError(f"0006_rollups.py's backfill no longer fills every rollup field "
                           f"({sorted(set(rollup_rules.FIELDS) ^ frozen)}): seed the rollups another way")
    return tuple(module._backfill for module in modules)


def seed(database_url: str, account_id: int, end: int, points: int) -> dict:
    """The per-second series (`points` samples up to `end`) and the 40 hosts'
    hour, with their rollups; returns what it took."""
    import sqlalchemy as sa

    from snapshot_svc.database import make_engine
    from snapshot_svc.measurements import MeasurementStore, validate_samples

    engine = make_engine(database_url)
    store = MeasurementStore(engine)
    began = time.perf_counter()
    first = end - points + 1
    # (batch tags, samples): the series' first point, then each host's hour
    batches = [({}, [{"name": POINTS_METRIC, "time": first, "value": sample_value(first)}])]
    batches += [({"host": host}, [{"name": HOSTS_METRIC, "time": t, "value": 50 + 5 * i + 10 * math.sin(t / 300 + i)}
                                  for t in range(end - HOSTS_WINDOW + HOSTS_STEP, end + 1, HOSTS_STEP)])
                for i, host in enumerate(_hosts(max(SERIES_COUNTS)))]
    for tags, samples in batches:
        good, bad = validate_samples(samples, tags, None, time.time())
        if bad:
            raise RuntimeError(f"seed samples refused: {bad}")
        store.submit(account_id, good)
    with engine.begin() as conn:
        sid = conn.execute(sa.text("SELECT id FROM series WHERE metric = :m"), {"m": POINTS_METRIC}).scalar_one()
        stored = tuple(conn.execute(sa.text("SELECT * FROM points WHERE series_id = :s"), {"s": sid}).one())
    v = sample_value(first)
    if stored != (sid, first, v, 1, v, v, v, v, None):  # what the statement below writes for every other second
        raise RuntimeError(f"the store wrote {stored} for a plain sample: the direct insert is out of date")
    insert = sa.text(
        "WITH RECURSIVE t(x) AS (SELECT :lo UNION ALL SELECT x + 1 FROM t WHERE x < :hi) "
        "INSERT INTO points (series_id, time, value, count, sum, min, max, last, stddev) "
        f"SELECT :sid, x, v, 1, v, v, v, v, NULL FROM (SELECT x, {VALUE_SQL} AS v FROM t)")
    for lo in range(first + 1, end + 1, ROWS_PER_INSERT):
        with engine.begin() as conn:
            conn.execute(insert, {"lo": lo, "hi": min(lo + ROWS_PER_INSERT - 1, end), "sid": sid})
    inserted = time.perf_counter()
    with engine.begin() as conn:  # every rollup again, from all the points (the hosts' too)
        for table in ("rollup_minutes", "rollup_hours", "rollup_days"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        for backfill in _backfills():
            backfill(conn)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    done = time.perf_counter()
    engine.dispose()
    return {"points": points, "hosts_points": sum(len(samples) for _, samples in batches[1:]), "insert_s": round(inserted - began, 1),
            "rollups_s": round(done - inserted, 1)}


# --- in-process reads -----------------------------------------------------------

def _snapshot_row(config: Config, account_id: int, end: int) -> dict:
    return {"id": 1, "job_id": 1, "assigned_image_key": "bench.png", "account_id": account_id, "end_time": end,
            "duration": config.duration, "width": config.width, "height": config.height, "chart_type": "line",
            "narrowing": {}}


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1e3)
    return round(statistics.median(times), 2)


def _same_series(a: Any, b: Any) -> bool:
    return any(s.times for s in a.series) and [(s.label, list(s.times)) for s in a.series] == [(s.label, list(s.times)) for s in b.series] and all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        for sa_, sb in zip(a.series, b.series) for x, y in zip(sa_.values, sb.values))


def read_in_process(database_url: str, account_id: int, plan: CurvePlan, end: int) -> tuple[dict[Config, Any], dict]:
    """Each configuration's RenderRequest (what the stock floor draws), the
    points curve's data reads (rollups, every raw point), and the check that
    the seeded rollups read as the raw points do."""
    from bench.rollup_cost import RawOnlyStore
    from snapshot_svc.database import make_engine
    from snapshot_svc.measurements import MeasurementStore
    from snapshot_svc.render_data import build_render_request, resolution_for

    engine = make_engine(database_url)
    store, raw = MeasurementStore(engine), RawOnlyStore(engine)
    charts = chart_bodies()
    now = time.time()
    requests_of = {c: build_render_request(store, charts[c.chart], _snapshot_row(c, account_id, end), now)
                   for c in configs(plan)}
    reads: dict[str, dict] = {}
    checked = []
    for config in (c for c in requests_of if c.curve == "points"):
        row = _snapshot_row(config, account_id, end)
        rollups_ms = _median_ms(lambda: build_render_request(store, charts["points"], row, now), plan.data_reads)
        repeats = 1 if config.duration == plan.largest_window else plan.raw_reads
        raw_ms = _median_ms(lambda: build_render_request(raw, charts["points"], row, now), repeats)
        reads[str(config.x)] = {"bucket_s": resolution_for(config.duration, config.width),
                                "rollups_ms": rollups_ms, "raw_ms": raw_ms}
        if config.duration in CHECKED_WINDOWS or (config.duration == plan.largest_window < min(CHECKED_WINDOWS)):
            if not _same_series(requests_of[config], build_render_request(raw, charts["points"], row, now)):
                raise RuntimeError(f"the seeded rollups read otherwise than the raw points over {config.duration} s")
            checked.append(config.duration)
    engine.dispose()
    return requests_of, {"data_read": reads, "rollups_checked_windows": checked}


# --- through the stack ------------------------------------------------------------

def _create_to_complete(session: requests.Session, gateway: str, body: dict) -> float:
    began = time.perf_counter()
    reply = session.post(f"{gateway}/v1/snapshots", json=body, timeout=30)
    if reply.status_code != 202:
        raise RuntimeError(f"POST /v1/snapshots answered {reply.status_code}: {reply.text[:300]}")
    job_href = reply.json()["job_href"]
    from chartsnap.job_states import COMPLETE, TERMINAL

    while True:
        job = session.get(job_href, timeout=30).json()
        if job["state"] in TERMINAL:
            break
        if time.perf_counter() - began > SNAPSHOT_TIMEOUT_S:
            raise RuntimeError(f"{job_href} not terminal after {SNAPSHOT_TIMEOUT_S:.0f} s: {job['state']}")
        time.sleep(POLL_INTERVAL_S)
    if job["state"] != COMPLETE:
        raise RuntimeError(f"{job_href} ended {job['state']}: {job.get('errors')}")
    return time.perf_counter() - began


def _create_charts(session: requests.Session, gateway: str) -> dict[str, int]:
    space = session.post(f"{gateway}/v1/spaces", json={"name": "cost curves"}, timeout=30)
    space.raise_for_status()
    ids = {}
    for key, body in chart_bodies().items():
        chart = session.post(f"{gateway}/v1/spaces/{space.json()['id']}/charts", json=body, timeout=30)
        chart.raise_for_status()
        ids[key] = int(chart.json()["id"])
    return ids


def snapshot_latencies(gateway: str, auth: tuple[str, str], plan: CurvePlan, end: int) -> dict[Config, dict]:
    from bench.percentiles import summarize_ms

    out = {}
    with requests.Session() as session:
        session.auth = auth
        chart_ids = _create_charts(session, gateway)
        for config in configs(plan):
            body = {"subject": {"chart": {"id": chart_ids[config.chart], "type": "line"}},
                    "duration": config.duration, "end_time": end, "width": config.width, "height": config.height}
            for _ in range(plan.warm_up):
                _create_to_complete(session, gateway, body)
            out[config] = summarize_ms([_create_to_complete(session, gateway, body) for _ in range(plan.snapshots)])
            log.info("cost curves: %s %s: p50 %s ms", config.curve, config.x, out[config].get("p50"))
    return out


# --- the floor ---------------------------------------------------------------------

def stock_floors(requests_of: dict[Config, Any], plan: CurvePlan) -> dict[Config, dict]:
    """export_png with one reused Chromium, drawing each configuration's data."""
    from bench.percentiles import summarize_ms
    from bench.stock_export import start_stock_driver, stock_export_png
    from render_svc.chart_figure import build_figure
    from render_svc.request_spec import spec_from_request

    out = {}
    browser = start_stock_driver()
    try:
        for config, request in requests_of.items():
            spec = spec_from_request(request)
            samples = []
            for i in range(1 + plan.stock):
                figure = build_figure(spec)  # outside the timer, as bench.render_only
                began = time.perf_counter()
                stock_export_png(figure, driver=browser.driver)
                if i:
                    samples.append(time.perf_counter() - began)
            out[config] = summarize_ms(samples)
    finally:
        browser.quit()
    return out


# --- the run -------------------------------------------------------------------------

def run_cost_curves(plan: CurvePlan = CurvePlan()) -> dict:
    from bench.bench_stack import add_account
    from devstack.processes import Stack
    from snapshot_svc.settings import SnapshotSettings

    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-curves-"))
    stack = Stack.on_free_ports(data_dir, extra_env={"CHARTSNAP_RATE_LIMIT": "0", **RETENTION_ENV})
    end = int(time.time()) // 3600 * 3600 - 3600  # on the hour, in the past
    try:
        stack.start_infrastructure()
        stack.migrate_database()
        account = add_account(stack)
        database_url = SnapshotSettings.from_env(stack.service_env("snapshot_svc")).database_url
        account_id = _account_id(database_url, account.email)
        log.info("cost curves: seeding %s points", f"{plan.largest_window:,}")
        seeded = seed(database_url, account_id, end, plan.largest_window)
        log.info("cost curves: seeded in %.0f s + %.0f s (rollups)", seeded["insert_s"], seeded["rollups_s"])
        requests_of, in_process = read_in_process(database_url, account_id, plan, end)
        stack.start_snapshot_svc()
        stack.start_render_svc()
        stack.start_gateway()
        latencies = snapshot_latencies(stack.gateway_url, (account.email, account.token), plan, end)
    finally:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    floors = stock_floors(requests_of, plan)
    curves: dict[str, list[dict]] = {"points": [], "series": [], "image_size": []}
    for config, request in requests_of.items():
        row = {"x": config.x, "width": config.width, "height": config.height, "duration_s": config.duration,
               "series": len(request.series), "drawn_points": sum(len(s.times) for s in request.series),
               "snapshot_ms": latencies[config], "stock_export_ms": floors[config]}
        if config.curve == "points":
            row |= in_process["data_read"][str(config.x)]
        curves[config.curve].append(row)
    return {"plan": asdict(plan), "seed": seeded, "rollups_checked_windows": in_process["rollups_checked_windows"],
            "curves": curves, "seconds": round(time.monotonic() - started, 1)}


def _account_id(database_url: str, email: str) -> int:
    from sqlalchemy import select

    from snapshot_svc.database import make_engine
    from snapshot_svc.tables import accounts

    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = conn.execute(select(accounts.c.id).where(accounts.c.email == email)).scalar_one()
    engine.dispose()
    return int(found)


def _ms(summary: dict, key: str = "p50") -> str:
    value = summary.get(key)
    return "—" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def format_cost_curves(result: dict) -> str:
    seed_ = result["seed"]
    curves = result["curves"]
    lines = [f"Cost curves: POST /v1/snapshots → job complete, one at a time (n={result['plan']['snapshots']}), "
             f"beside export_png with a reused Chromium drawing the same data (n={result['plan']['stock']}); ms",
             f"  seeded {seed_['points']:,} per-second points in {seed_['insert_s']:g} s, rollups rebuilt in "
             f"{seed_['rollups_s']:g} s (checked against the raw read at {result['rollups_checked_windows']} s); "
             f"{result['seconds']:.0f} s in all",
             f"  {'raw points':>12}{'bucket':>8}{'snapshot p50':>14}{'p95':>8}{'export_png':>12}"
             f"{'read, rollups':>15}{'read, raw':>11}"]
    for row in curves["points"]:
        lines.append(f"  {row['x']:>12,}{row['bucket_s']:>7}s{_ms(row['snapshot_ms']):>14}"
                     f"{_ms(row['snapshot_ms'], 'p95'):>8}{_ms(row['stock_export_ms']):>12}"
                     f"{row['rollups_ms']:>15.1f}{row['raw_ms']:>11,.1f}")
    lines.append(f"  {'series':>12}{'':>8}{'snapshot p50':>14}{'p95':>8}{'export_png':>12}")
    for row in curves["series"]:
        lines.append(f"  {row['x']:>12}{'':>8}{_ms(row['snapshot_ms']):>14}{_ms(row['snapshot_ms'], 'p95'):>8}"
                     f"{_ms(row['stock_export_ms']):>12}")
    lines.append(f"  {'image':>12}{'':>8}{'snapshot p50':>14}{'p95':>8}{'export_png':>12}")
    for row in curves["image_size"]:
        lines.append(f"  {row['width']:>7}×{row['height']:<4}{'':>8}{_ms(row['snapshot_ms']):>14}"
                     f"{_ms(row['snapshot_ms'], 'p95'):>8}{_ms(row['stock_export_ms']):>12}")
    return "\n".join(lines)

