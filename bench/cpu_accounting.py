"""CPU seconds each part of the stack spent during a phase, read from
/proc/PID/stat (utime + stime) of every process of the stack, children
included (Chromium's processes belong to render_svc's tree).

On a 2-core machine a burst is CPU bound, so "CPU ms per snapshot, by
process" says directly where throughput goes."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

from devstack.replicas import service_of
from render_svc.chromium_driver import descendant_pids

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _read_stat(pid: int) -> tuple[str, float] | None:
    """(command name, CPU seconds so far) of one process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    name = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode(errors="replace")
    fields = stat[stat.rfind(b")") + 2:].split()
    # After the name: state is field 0, utime is 11 and stime 12 (man 5 proc, 14 and 15).
    return name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _chromium_role(pid: int, name: str) -> str:
    """Chromium's processes all share a name; its --type flag tells them apart."""
    if name == "chromedriver":
        return "chromedriver"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            # Zygote-forked processes rewrite their title: one string, spaces between flags.
            args = f.read().replace(b"\0", b" ").split()
    except OSError:
        return "chromium"
    for arg in args:
        if arg.startswith(b"--type="):
            kind = arg.removeprefix(b"--type=").decode()
            if kind == "utility":
                sub = next((a for a in args if a.startswith(b"--utility-sub-type=")), b"")
                kind = "utility " + sub.decode().rsplit(".", 1)[-1] if sub else kind
            return f"chromium {kind}"
    return "chromium browser"


@dataclass
class CpuSnapshot:
    seconds: dict[str, float]  # group -> CPU seconds of the processes alive at the time

    def minus(self, earlier: "CpuSnapshot") -> dict[str, float]:
        # Processes that exited in between (a recycled browser) are lost; the
        # phases are short enough that this rarely happens.
        return {group: round(value - earlier.seconds.get(group, 0.0), 3)
                for group, value in self.seconds.items()}


def _tree_seconds(root: int) -> float:
    """CPU seconds of a whole process tree, including children that exited
    and were waited for (cutime + cstime): a PostgreSQL postmaster's
    backends come and go with their connections."""
    total = 0.0
    for pid in (root, *descendant_pids(root)):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the name: utime, stime, cutime, cstime are fields 11-14 (man 5 proc: 14-17).
        total += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    return total


def read_cpu(processes: dict[str, int], with_children: str = "render_svc",
             trees: dict[str, int] | None = None) -> CpuSnapshot:
    """CPU seconds per named process; the children of ``with_children`` and
    of its replicas ("render_svc-2": the render service's chromedriver and
    Chromium processes) grouped by role. Other processes are counted alone:
    the services are themselves children of the benchmark, which must not
    count them twice. ``trees``: processes the benchmark did not start (a
    PostgreSQL server), each counted with its whole tree under its name."""
    totals: dict[str, float] = {name: _tree_seconds(root) for name, root in (trees or {}).items()}
    for name, pid in processes.items():
        stat = _read_stat(pid)
        if stat is None:
            continue
        totals[name] = totals.get(name, 0.0) + stat[1]
        if service_of(name) != with_children:
            continue
        for child in descendant_pids(pid):
            child_stat = _read_stat(child)
            if child_stat is not None:
                group = _chromium_role(child, child_stat[0])
                totals[group] = totals.get(group, 0.0) + child_stat[1]
    return CpuSnapshot(totals)


def others_cpu(own_root: int, also_ours: Collection[int] = ()) -> dict[tuple[int, int], float]:
    """CPU seconds so far of each process outside ``own_root``'s tree (the
    benchmark, which started the whole stack and every browser) and the trees
    of ``also_ours`` (a PostgreSQL server it started, which daemonizes),
    keyed by (pid, start time) so a reused pid is a different process."""
    ours = {own_root, *descendant_pids(own_root)}
    for root in also_ours:
        ours.update((root, *descendant_pids(root)))
    found: dict[tuple[int, int], float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ours:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the name: utime, stime are fields 11 and 12, starttime 19 (man 5 proc: 14, 15, 22).
        found[(int(entry), int(fields[19]))] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def others_cpu_between(before: dict[tuple[int, int], float], after: dict[tuple[int, int], float]) -> float:
    """CPU seconds other people's processes spent between two readings: on a
    shared machine they make the numbers worse than they are. A process that
    both started and ended in between is not seen (an under-estimate)."""
    return sum(cpu - before.get(key, 0.0) for key, cpu in after.items())


def cores_used(cpu_seconds: float, wall_s: float) -> float | None:
    return round(cpu_seconds / wall_s, 2) if wall_s > 0 else None


def cpu_ms_per_item(delta: dict[str, float], items: int) -> dict[str, float]:
    """CPU ms per item (snapshot) by group, largest first, with the total."""
    if items <= 0:
        return {}
    per = {group: round(1e3 * seconds / items, 1) for group, seconds in delta.items() if seconds > 0}
    ordered = dict(sorted(per.items(), key=lambda kv: -kv[1]))
    ordered["total"] = round(sum(per.values()), 1)
    return ordered
