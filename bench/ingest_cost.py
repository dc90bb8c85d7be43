"""python -m bench.ingest_cost [--smoke] — ingest through the gateway beside SQLite's own insert floor.

A stack on free ports (NATS, the S3 store, snapshot_svc on SQLite and the
gateway: devstack's Stack, as the rest of the bench) and one account. For
each batch size (1, 100 and 1,000 samples per POST /v1/measurements), each of
CLIENTS clients posts one series of per-second samples (new seconds in time
order, as an agent sends them; the bodies encoded before the clock starts)
over its own keep-alive connection. In the same run, the floor: the same
rows (the `points` table of the real schema) inserted into a fresh SQLite
file with the service's pragmas (WAL, synchronous=NORMAL, foreign keys), one
executemany and one commit per batch (the median of 3 runs); and between the two, the snapshot
service's store alone (validate_samples + MeasurementStore.submit, rollups
kept) in this process. Then the same on PostgreSQL (a throwaway server):
the gateway at 1,000-sample batches beside that server's COPY floor (the
same rows COPYed into the points table, a commit per batch; median of 3).
Reports points/s and the gateway's share of each floor, PASS/MISS against
issue 12's targets (≥ 25% of SQLite's, ≥ 20% of PostgreSQL's COPY)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import requests

BATCH_SIZES = (1, 100, 1000)
CLIENTS = 2          # concurrent posting clients (gateway and snapshot_svc are two processes on 2 cores)
TARGET_SHARE = 0.25  # issue 12: through the gateway at >= 25% of the raw SQLite insert floor
PG_TARGET_SHARE = 0.20  # and >= 20% of PostgreSQL's COPY floor
METRIC = "bench.ingest"
# Requests per client at each batch size (full, smoke): a few seconds each at today's rates.
REQUESTS = {1: (600, 40), 100: (120, 10), 1000: (40, 4)}


def _sample(t: int) -> dict:
    return {"name": METRIC, "time": t, "value": float(t % 977) + 0.5}


def _bodies(host: str, start: int, batch: int, count: int) -> list[bytes]:
    return [json.dumps({"tags": {"host": host},
                        "measurements": [_sample(start + i * batch + j) for j in range(batch)]}).encode()
            for i in range(count)]


def _rows(series_id: int, start: int, batch: int, count: int) -> list[list[tuple]]:
    """The points rows the service stores for those bodies, batch by batch."""
    out = []
    for i in range(count):
        batch_rows = []
        for j in range(batch):
            s = _sample(start + i * batch + j)
            v = s["value"]
            batch_rows.append((series_id, s["time"], v, 1, v, v, v, v, None))
        out.append(batch_rows)
    return out


def _post_all(url: str, auth: tuple[str, str], bodies: list[bytes], errors: list[str]) -> None:
    with requests.Session() as session:
        for body in bodies:
            reply = session.post(url, data=body, auth=auth, timeout=60,
                                 headers={"Content-Type": "application/json"})
            summary = reply.json()["measurements"]["summary"] if reply.status_code == 202 else {}
            if summary.get("failed", 1) or summary["accepted"] != summary["total"]:  # every sample stored
                errors.append(f"{reply.status_code} {reply.text[:200]}")
                return


def _through_gateway(gateway_url: str, auth: tuple[str, str], batch: int, count: int, start: int,
                     processes: dict[str, int]) -> dict:
    from bench.cpu_accounting import read_cpu

    bodies = [_bodies(f"{batch}-{c}", start, batch, count) for c in range(CLIENTS)]
    errors: list[str] = []
    threads = [threading.Thread(target=_post_all, args=(f"{gateway_url}/v1/measurements", auth, b, errors))
               for b in bodies]
    cpu_before = read_cpu(processes)
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = read_cpu(processes).minus(cpu_before)
    if errors:
        raise RuntimeError(f"POST /v1/measurements failed at batch {batch}: {errors[0]}")
    points = CLIENTS * batch * count
    return {"points": points, "seconds": round(elapsed, 3), "points_per_s": round(points / elapsed),
            "requests_per_s": round(CLIENTS * count / elapsed, 1),
            # Where the time goes: CPU microseconds per point, by process (the clients included).
            "cpu_us_per_point": {name: round(1e6 * seconds / points, 1) for name, seconds in cpu.items()}}


def _fresh_database(tmp: Path, name: str) -> tuple[str, int]:
    """A SQLite file at the schema's head with one account."""
    return _at_head(f"sqlite:///{tmp / name}", name)


def _at_head(url: str, name: str) -> tuple[str, int]:
    """The database at `url` upgraded to the schema's head, with one account."""
    from snapshot_svc import schema
    from snapshot_svc.accounts import AccountStore
    from snapshot_svc.database import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    account = AccountStore(engine).create(f"{name}@example.com", "Floor")[0].id
    engine.dispose()
    return url, account


def _sqlite_floor(tmp: Path, batch: int, count: int, start: int, run: int = 0) -> dict:
    """The same rows, the real points table, plain INSERT executemany, a commit per batch."""
    url, account = _fresh_database(tmp, f"floor-{batch}-{run}.db")
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("INSERT INTO series (account_id, metric, tags, tags_sha256, origin) VALUES (?, ?, '{}', ?, 'tagged')",
               (account, METRIC, "0" * 64))
    series_id = db.execute("SELECT max(id) FROM series").fetchone()[0]
    batches = [r for _ in range(CLIENTS) for r in _rows(series_id, start, batch, count)]
    for n, rows in enumerate(batches):  # each client's series apart, as through the gateway
        batches[n] = [(r[0], r[1] + (n // count) * 10_000_000, *r[2:]) for r in rows]
    sql = 'INSERT INTO points (series_id, time, value, count, sum, min, max, last, stddev) VALUES (?,?,?,?,?,?,?,?,?)'
    began = time.perf_counter()
    for rows in batches:
        db.execute("BEGIN")
        db.executemany(sql, rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - began
    db.close()
    points = sum(len(rows) for rows in batches)
    return {"points": points, "seconds": round(elapsed, 3), "points_per_s": round(points / elapsed)}


def _postgres_copy_floor(pg, batch: int, count: int, start: int, run: int) -> dict:
    """PostgreSQL's own floor for the same rows: COPY into the real points
    table of a fresh database (the same server), one COPY and commit per batch."""
    import psycopg

    url, account = _at_head(pg.create_database(f"copy_floor_{run}"), f"copy-floor-{run}")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        series_id = db.execute(
            "INSERT INTO series (account_id, metric, tags, tags_sha256, origin) VALUES (%s, %s, '{}', %s, 'tagged') "
            "RETURNING id", (account, METRIC, "0" * 64)).fetchone()[0]
        db.commit()
        batches = [r for _ in range(CLIENTS) for r in _rows(series_id, start, batch, count)]
        for n, rows in enumerate(batches):  # each client's series apart, as through the gateway
            batches[n] = [(r[0], r[1] + (n // count) * 10_000_000, *r[2:]) for r in rows]
        began = time.perf_counter()
        for rows in batches:
            with db.cursor().copy("COPY points (series_id, time, value, count, sum, min, max, last, stddev) "
                                  "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            db.commit()
        elapsed = time.perf_counter() - began
    points = sum(len(rows) for rows in batches)
    return {"points": points, "seconds": round(elapsed, 3), "points_per_s": round(points / elapsed)}


def _on_postgresql(smoke: bool, start: int) -> dict:
    """The gateway with snapshot_svc on a throwaway PostgreSQL (fsync off, as
    the tests run it), 1,000-sample batches, beside that server's COPY floor."""
    from devstack.postgres import ThrowawayPostgres

    batch = max(BATCH_SIZES)
    count = REQUESTS[batch][1 if smoke else 0]
    with ThrowawayPostgres.start() as pg:
        data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-ingest-pg-"))
        try:
            with _ingest_stack(data_dir, {"CHARTSNAP_DATABASE_URL": pg.create_database("ingest")}) as (gateway_url, auth,
                                                                                                      processes):
                _through_gateway(gateway_url, auth, batch, 1, start - 86_400, processes)  # warm-up
                gateway = _through_gateway(gateway_url, auth, batch, count, start, processes)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        floor = sorted((_postgres_copy_floor(pg, batch, count, start, run) for run in range(3)),
                       key=lambda r: r["points_per_s"])[1]
    share = gateway["points_per_s"] / floor["points_per_s"]
    return {"batch": batch, "gateway": gateway, "copy_floor": floor, "gateway_share_of_floor": round(share, 3),
            "target": f"gateway at >= {PG_TARGET_SHARE:.0%} of the PostgreSQL COPY floor ({batch:,}-sample batches)",
            "target_met": share >= PG_TARGET_SHARE}


def _store_in_process(tmp: Path, batch: int, count: int, start: int) -> dict:
    """snapshot_svc's own work for the same samples, without HTTP and gRPC:
    validation (each batch one run, as the gateway's columns arrive) and
    MeasurementStore.submit (points and rollups), in this process."""
    from snapshot_svc.database import make_engine
    from snapshot_svc.measurements import MeasurementStore, validate_run

    url, account = _fresh_database(tmp, f"store-{batch}.db")
    engine = make_engine(url)
    store = MeasurementStore(engine)
    batches = [[_sample(start + i * batch + j) for j in range(batch)] for _ in range(CLIENTS) for i in range(count)]
    now = time.time()
    began = time.perf_counter()
    for n, raw in enumerate(batches):
        run, good, bad = validate_run(METRIC, {}, False, [m["time"] for m in raw], [m["value"] for m in raw],
                                      [f"measurements[{i}]" for i in range(len(raw))], {"host": f"c{n // count}"}, now)
        assert run is not None and not good and not bad, bad
        store.submit(account, [], [run])
    elapsed = time.perf_counter() - began
    engine.dispose()
    points = sum(len(b) for b in batches)
    return {"points": points, "seconds": round(elapsed, 3), "points_per_s": round(points / elapsed)}


@contextlib.contextmanager
def _ingest_stack(data_dir: Path, extra_env: dict[str, str]) -> Iterator[tuple[str, tuple[str, str], dict[str, int]]]:
    """NATS, the S3 store, snapshot_svc and the gateway on free ports, and one
    account: the gateway's URL, the account's credentials, the processes' pids."""
    from bench.bench_stack import add_account
    from devstack.processes import Stack

    stack = Stack.on_free_ports(data_dir, extra_env={"CHARTSNAP_RATE_LIMIT": "0", **extra_env})
    try:
        stack.start_infrastructure()
        stack.start_snapshot_svc()
        stack.start_gateway()
        account = add_account(stack)
        processes = {**{name: proc.popen.pid for name, proc in stack.processes.items()},
                     "bench clients": os.getpid()}
        yield stack.gateway_url, (account.email, account.token), processes
    finally:
        stack.stop()


def run_ingest_cost(smoke: bool = False) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="chartsnap-ingest-"))
    by_batch: dict[str, dict] = {}
    start = int(time.time()) - 3 * 86_400  # inside the raw retention, never in the future
    try:
        with _ingest_stack(data_dir, {}) as (gateway_url, auth, processes):
            # One warm-up request of each size: connections, statement caches, the series made.
            for batch in BATCH_SIZES:
                _through_gateway(gateway_url, auth, batch, 1, start - 86_400 + batch, processes)
            for batch in BATCH_SIZES:
                count = REQUESTS[batch][1 if smoke else 0]
                gateway = _through_gateway(gateway_url, auth, batch, count, start, processes)
                # The floor's rate swings most from run to run (page cache, other processes): its median of 3.
                floor = sorted((_sqlite_floor(data_dir, batch, count, start, run) for run in range(3)),
                               key=lambda r: r["points_per_s"])[1]
                store = _store_in_process(data_dir, batch, count, start)
                share = gateway["points_per_s"] / floor["points_per_s"]
                by_batch[str(batch)] = {"gateway": gateway, "store_in_process": store, "sqlite_floor": floor,
                                        "gateway_share_of_floor": round(share, 3),
                                        "store_share_of_floor": round(store["points_per_s"] / floor["points_per_s"], 3)}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    biggest = by_batch[str(max(BATCH_SIZES))]
    postgresql = _on_postgresql(smoke, start)
    return {"clients": CLIENTS, "by_batch": by_batch, "postgresql": postgresql,
            "target": f"gateway at >= {TARGET_SHARE:.0%} of the SQLite insert floor ({max(BATCH_SIZES):,}-sample batches)",
            "target_met": biggest["gateway_share_of_floor"] >= TARGET_SHARE}


def format_ingest_cost(result: dict) -> str:
    lines = [f"Ingest, points/s (POST /v1/measurements, {result['clients']} clients, one series each, "
             "per-second samples in time order; SQLite):",
             f"  {'batch':>6}{'gateway':>12}{'store only':>12}{'SQLite floor':>14}{'gateway/floor':>15}"]
    for batch, row in result["by_batch"].items():
        lines.append(f"  {int(batch):>6,}{row['gateway']['points_per_s']:>12,}{row['store_in_process']['points_per_s']:>12,}"
                     f"{row['sqlite_floor']['points_per_s']:>14,}{row['gateway_share_of_floor']:>14.1%}")
    biggest = result["by_batch"][str(max(BATCH_SIZES))]["gateway"]["cpu_us_per_point"]
    lines.append(f"  CPU µs per point at {max(BATCH_SIZES):,}: " + ", ".join(
        f"{name} {us:g}" for name, us in sorted(biggest.items(), key=lambda kv: -kv[1]) if us > 0))
    lines.append(f"  {result['target']}: {'PASS' if result['target_met'] else 'MISS'}")
    pg = result.get("postgresql")
    if pg:
        lines.append(f"  PostgreSQL, {pg['batch']:,}-sample batches: gateway {pg['gateway']['points_per_s']:,}, "
                     f"COPY floor {pg['copy_floor']['points_per_s']:,} ({pg['gateway_share_of_floor']:.1%}); CPU µs "
                     "per point: " + ", ".join(f"{name} {us:g}" for name, us in
                                               sorted(pg["gateway"]["cpu_us_per_point"].items(), key=lambda kv: -kv[1])
                                               if us > 0))
        lines.append(f"  {pg['target']}: {'PASS' if pg['target_met'] else 'MISS'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_cost", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true", help="a few requests of each size")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = run_ingest_cost(smoke=args.smoke)
    print(format_ingest_cost(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
