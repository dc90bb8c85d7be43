"""`make bench-scale`'s results: the projection drawn from them and the
tables printed at the end (pure: a results dict in, data or text out)."""

from __future__ import annotations

from dataclasses import asdict

from bench.scale_projection import (SingleWriter, components, cpu_bound_per_s, first_bottleneck, project,
                                    ratio)

# Ratio name -> (numerator, denominator) configuration labels.
RATIOS = {
    "2 render / 1 render": ("2 render / 1 snapshot", "1 render / 1 snapshot"),
    "2 snapshot / 1 snapshot": ("1 render / 2 snapshot", "1 render / 1 snapshot"),
    "2+2 / 1+1": ("2 render / 2 snapshot", "1 render / 1 snapshot"),
}
COLUMNS = ("gateway", "snapshot_svc", "render_svc", "Chromium", "NATS", "PostgreSQL", "S3 store")


def single_writers(burst: dict, ceilings: dict, cpu: dict[str, float], engine_cores: int) -> list[SingleWriter]:
    """What does not grow with replicas, with what one snapshot of `burst`
    asked of it: the PostgreSQL primary (its commits, and its CPU: every
    statement of a snapshot, reads included, runs on it) and the NATS server
    (its CPU, and the busiest stream's leader), each a server the size of
    this machine (`engine_cores`), as measured."""
    counts = burst["counts_per_snapshot"]
    writes = counts["postgresql"]["write_transactions"]
    stream, messages = max(counts["nats"]["stream_messages"].items(), key=lambda kv: kv[1])
    statements = counts["postgresql"].get("statements")
    pg_ms, nats_ms = cpu.get("PostgreSQL", 0.0), cpu.get("NATS", 0.0)
    return [
        SingleWriter(f"PostgreSQL primary: database writes ({writes:g} write transactions/snapshot, "
                     f"{ceilings['postgresql']['write_transactions_per_s']}/s)", writes,
                     ceilings["postgresql"]["write_transactions_per_s"]),
        SingleWriter(f"PostgreSQL primary: CPU ({pg_ms:g} ms/snapshot"
                     + (f", {statements:g} statements" if statements else "") + f", {engine_cores} cores)",
                     pg_ms, engine_cores * 1e3),
        SingleWriter(f"NATS stream leader {stream}: messages ({messages:g}/snapshot, "
                     f"{ceilings['nats']['stream_messages_per_s']}/s)", messages,
                     ceilings["nats"]["stream_messages_per_s"]),
        SingleWriter(f"NATS server: CPU ({nats_ms:g} ms/snapshot, {engine_cores} cores)", nats_ms, engine_cores * 1e3),
    ]


def project_results(results: dict, projected_from: str, cores: tuple[int, ...]) -> dict:
    configurations = results["configurations"]
    burst = configurations[projected_from]
    cpu = components(burst["cpu_ms_per_snapshot"])
    writers = single_writers(burst, results["ceilings"], cpu, results["machine"]["cores"])
    bottleneck = first_bottleneck(cpu, writers)
    throughput = {label: c.get("throughput_per_s") for label, c in configurations.items()}
    return {
        "from_configuration": projected_from,
        "cpu_ms_per_snapshot_by_component": cpu,
        "cpu_ms_per_snapshot_total": round(sum(cpu.values()), 1),
        "cpu_bound_here_per_s": round(cpu_bound_per_s(results["machine"]["cores"], cpu), 2),
        "single_writers": [{**asdict(w), "snapshots_per_s": round(w.snapshots_per_s)} for w in writers],
        "rows": [{**asdict(p), "snapshots_per_s": round(p.snapshots_per_s)}
                 for p in (project(n, cpu, writers) for n in cores)],
        "engine_cores": results["machine"]["cores"],
        "first_bottleneck": None if bottleneck is None else {
            "name": bottleneck.writer.name, "snapshots_per_s": round(bottleneck.writer.snapshots_per_s),
            "from_cores": round(bottleneck.from_cores)},
        "ratios": {name: ratio(throughput.get(a), throughput.get(b)) for name, (a, b) in RATIOS.items()},
    }


def _f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _engine_lines(results: dict) -> list[str]:
    """What one snapshot asked of the engines, in the run the projection is drawn from."""
    label = results["projection"]["from_configuration"]
    counts = results["configurations"][label].get("counts_per_snapshot") or {}
    pg, nats = counts.get("postgresql"), counts.get("nats")
    lines = []
    if pg:
        kinds = ", ".join(f"{kind} {n:g}" for kind, n in pg.get("statements_by_kind", {}).items())
        lines.append(f"per snapshot ({label}): PostgreSQL {pg['write_transactions']:g} write transactions, "
                     f"{pg.get('statements', 0):g} statements ({kinds}), {pg.get('rows_written', 0):g} rows written, "
                     f"{pg.get('wal_bytes', 0)} B of WAL")
    if nats:
        stored = ", ".join(f"{name} {n:g}" for name, n in nats["stream_messages"].items())
        lines.append(f"per snapshot ({label}): NATS {nats['messages_in']:g} messages in, "
                     f"{nats.get('messages_out', 0):g} out; stored per stream: {stored}")
    return [*lines, ""] if lines else []


NOISY_OTHERS_CORES = 0.2  # other people's processes using more than this during a burst skew its figures


def _noise_lines(results: dict) -> list[str]:
    others = [c.get("other_processes_cores") or 0.0 for c in results["configurations"].values()]
    if max(others, default=0.0) <= NOISY_OTHERS_CORES:
        return []
    return [f"Other processes used {min(others):.2f}–{max(others):.2f} of the {results['machine']['cores']} cores "
            "during the bursts (load average above): throughputs and ratios are below a quiet machine's, and CPU "
            "ms per snapshot above (contention); the projection uses CPU ms per snapshot, which contention "
            "affects less."]


def format_scale(results: dict) -> str:
    m = results["machine"]
    projection = results["projection"]
    lines = [
        f"chartsnap bench-scale ({results['mode']}) — {m['date']}",
        f"machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_mib']} MiB; load average "
        f"{results['load_average_at_start']} at start, {results['load_average_at_end']} at end",
        f"{results['burst']} snapshots at once per configuration (after a warm-up burst of {results['warm_up']}), "
        f"{results['database']}",
        "",
        "configuration".ljust(24) + "snap/s".rjust(8) + "".join(f"{c[:10]:>11}" for c in COLUMNS)
        + "total".rjust(8) + "busy".rjust(6) + "others".rjust(8) + "PG wtx".rjust(8) + "NATS in".rjust(9),
        "".ljust(32) + "CPU ms per snapshot".center(11 * len(COLUMNS) + 8),
    ]
    for label, burst in results["configurations"].items():
        cpu = components(burst.get("cpu_ms_per_snapshot") or {})
        counts = burst.get("counts_per_snapshot") or {}
        lines.append(
            label.ljust(24) + _f(burst.get("throughput_per_s"), 2).rjust(8)
            + "".join(_f(cpu.get(c)).rjust(11) for c in COLUMNS) + _f(sum(cpu.values())).rjust(8)
            + _f(burst.get("cpu_busy_share"), 2).rjust(6) + _f(burst.get("other_processes_cores"), 2).rjust(8)
            + _f((counts.get("postgresql") or {}).get("write_transactions"), 2).rjust(8)
            + _f((counts.get("nats") or {}).get("messages_in"), 1).rjust(9)
            + ("" if not burst.get("errors") else f"  ({burst['errors']} errors)"))
    lines += [
        "(busy: share of all cores the stack kept busy; others: cores other people's processes used; "
        "PG wtx: PostgreSQL write transactions per snapshot; NATS in: messages into the server per snapshot)",
        "",
        *_engine_lines(results),
        "ratios: " + "; ".join(f"{name} = {_f(value, 2)}" for name, value in projection["ratios"].items()),
        f"On {m['cores']} cores more replicas cannot add CPU: a ratio near 1 says replicas cost little to "
        "coordinate, below 1 it is their coordination or other processes taking the cores (others); the "
        "projection below is what tells how throughput grows.",
        *_noise_lines(results),
        "",
    ]
    pg, nats = results["ceilings"]["postgresql"], results["ceilings"]["nats"]
    lines += [
        f"single-writer ceilings on this machine: PostgreSQL {pg['write_transactions_per_s']} write transactions/s "
        f"(pgbench, {pg['clients']} clients, fsync on, durable commits; "
        f"{pg['write_transactions_per_s_synchronous_commit_off']}/s with synchronous_commit off); "
        f"NATS {nats['stream_messages_per_s']} stream messages/s through one leader (publish + consume + ack: "
        f"one core ÷ the server's {nats['server_cpu_us_per_message']} µs CPU a message; nats-py from one "
        f"process reached {nats['client_bound_messages_per_s']}/s)",
        "",
        f"projection from {projection['from_configuration']}: "
        f"{projection['cpu_ms_per_snapshot_total']} CPU ms per snapshot ("
        + ", ".join(f"{name} {ms:g}" for name, ms in projection["cpu_ms_per_snapshot_by_component"].items())
        + f"); here that is {projection['cpu_bound_here_per_s']} snapshots/s on {m['cores']} cores",
        "cores".rjust(6) + "snapshots/s".rjust(13) + "  limited by",
    ]
    lines += [f"{row['cores']:>6}{row['snapshots_per_s']:>13}  {row['limit']}" for row in projection["rows"]]
    for writer in projection["single_writers"]:
        lines.append(f"  ceiling: {writer['name']} → {writer['snapshots_per_s']} snapshots/s")
    bottleneck = projection["first_bottleneck"]
    if bottleneck:
        lines.append(f"first bottleneck: {bottleneck['name']}, at {bottleneck['snapshots_per_s']} snapshots/s, "
                     f"reached from about {bottleneck['from_cores']} cores on (PostgreSQL and NATS each one server "
                     f"of this machine's size, {projection['engine_cores']} cores, as measured; a bigger primary, "
                     "read replicas or more streams move it)")
    return "\n".join(lines)
