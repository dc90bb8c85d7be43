"""What a burst asks of the two engines, counted over the burst
(bench.bench_stack.PhaseCounter): PostgreSQL's write transactions, statements
and WAL, and NATS's messages in total and per JetStream stream.

PostgreSQL: write transactions are the transaction ids handed out
(pg_snapshot_xmax of the current snapshot: a read-only transaction gets
none), exact and immediate; statements come from pg_stat_statements, which
updates its counters as each statement ends. pg_stat_database is not used:
an idle backend reports its counts up to PGSTAT_IDLE_INTERVAL (10 s) late.
The counter reads from the `postgres` database, so its own queries are not
counted against the measured one.

NATS: the server's /varz (messages in from clients, out to clients: publishes,
JetStream API calls, pull requests, acks) and /jsz (each stream's last
sequence: messages stored in it, which its leader orders one by one)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

import psycopg

STATEMENT_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK")
WRITE_KINDS = ("INSERT", "UPDATE", "DELETE")
TOP_STATEMENTS = 8


@dataclass(frozen=True)
class PostgresReading:
    next_xid: int
    wal_bytes: int
    statements: dict[str, tuple[int, int]]  # normalised query -> (calls, rows)


def _kind(query: str) -> str:
    words = query.lstrip("( \n").split(None, 1)
    first = words[0].upper() if words else ""
    return first if first in STATEMENT_KINDS else "other"


class PostgresCounter:
    name = "postgresql"

    def __init__(self, server_url: str, database: str) -> None:
        """`server_url`: libpq URL of the cluster's `postgres` database;
        `database`: the one the stack uses."""
        self.conninfo = server_url
        self.database = database
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            self.dbid = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (database,)).fetchone()[0]

    def read(self) -> PostgresReading:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            xid, wal = conn.execute(
                "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
                " (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").fetchone()
            rows = conn.execute("SELECT query, sum(calls)::bigint, sum(rows)::bigint FROM pg_stat_statements"
                                " WHERE dbid = %s GROUP BY query", (self.dbid,)).fetchall()
        return PostgresReading(int(xid), int(wal), {query: (int(calls), int(n)) for query, calls, n in rows})

    def per_item(self, before: PostgresReading, after: PostgresReading, items: int) -> dict:
        if items <= 0:
            return {}
        calls: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        rows_written = 0
        for query, (n_calls, n_rows) in after.statements.items():
            was_calls, was_rows = before.statements.get(query, (0, 0))
            delta = n_calls - was_calls
            if delta <= 0:
                continue
            calls[query] = delta
            kind = _kind(query)
            by_kind[kind] = by_kind.get(kind, 0) + delta
            if kind in WRITE_KINDS:
                rows_written += n_rows - was_rows
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:TOP_STATEMENTS]
        return {
            "write_transactions": round((after.next_xid - before.next_xid) / items, 2),
            "statements": round(sum(calls.values()) / items, 2),
            "statements_by_kind": {kind: round(n / items, 2) for kind, n in sorted(by_kind.items())},
            "rows_written": round(rows_written / items, 2),
            "wal_bytes": round((after.wal_bytes - before.wal_bytes) / items),
            "top_statements": [{"calls": round(n / items, 2), "query": " ".join(q.split())[:160]} for q, n in top],
        }


@dataclass(frozen=True)
class NatsReading:
    in_msgs: int
    out_msgs: int
    in_bytes: int
    out_bytes: int
    stream_last_seq: dict[str, int]


def monitor_json(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5.0) as reply:
        return json.loads(reply.read())


class NatsCounter:
    name = "nats"

    def __init__(self, monitor_port: int) -> None:
        self.monitor_port = monitor_port

    def read(self) -> NatsReading:
        varz = monitor_json(self.monitor_port, "/varz")
        jsz = monitor_json(self.monitor_port, "/jsz?accounts=true&streams=true")
        streams = {stream["name"]: int(stream["state"]["last_seq"])
                   for account in jsz.get("account_details") or []
                   for stream in account.get("stream_detail") or []}
        return NatsReading(int(varz["in_msgs"]), int(varz["out_msgs"]), int(varz["in_bytes"]),
                           int(varz["out_bytes"]), streams)

    def per_item(self, before: NatsReading, after: NatsReading, items: int) -> dict:
        if items <= 0:
            return {}
        stored = {name: round((seq - before.stream_last_seq.get(name, 0)) / items, 2)
                  for name, seq in sorted(after.stream_last_seq.items())}
        return {
            "messages_in": round((after.in_msgs - before.in_msgs) / items, 2),
            "messages_out": round((after.out_msgs - before.out_msgs) / items, 2),
            "bytes_in": round((after.in_bytes - before.in_bytes) / items),
            "bytes_out": round((after.out_bytes - before.out_bytes) / items),
            "stream_messages": stored,
        }
