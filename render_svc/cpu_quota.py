"""How many CPU cores this process may use: the container's CPU quota (a
Kubernetes `limits.cpu`), else the CPUs it may be scheduled on, else the
machine's cores. The render service sizes its browser pool from it when
CHARTSNAP_RENDER_BROWSERS is unset: on a 32-core node a pod limited to
2 cores must not start 32 Chromiums. Never more than the CPUs the process
may be scheduled on (a cpuset narrower than the quota).

The quota is cgroup v2's `cpu.max` ("<quota> <period>" or "max <period>")
or cgroup v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none), in the
process's own cgroup and every ancestor up to the hierarchy's mount (a
parent's quota limits its children too), found through /proc/self/cgroup
and /proc/self/mountinfo. A fractional quota is rounded up (1.5 cores: 2),
never below 1. Parsing is kept apart from reading the files, so the rules
are tested on real files' contents."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PROC_SELF_MOUNTINFO = Path("/proc/self/mountinfo")
V2_QUOTA_FILE = "cpu.max"
V1_QUOTA_FILE, V1_PERIOD_FILE = "cpu.cfs_quota_us", "cpu.cfs_period_us"


@dataclass(frozen=True)
class CgroupMount:
    """Where one cgroup hierarchy is mounted, and which of its directories
    (`root`) the mount shows there (a container sees its own as /)."""

    version: int               # 1 or 2
    root: PurePosixPath        # the hierarchy's directory mounted at `mount_point`
    mount_point: PurePosixPath


def quota_cores(quota_us: int, period_us: int) -> int:
    """Whole cores a quota allows: rounded up, at least 1."""
    return max(1, -(-quota_us // period_us))


def parse_cpu_max(text: str) -> int | None:
    """cgroup v2 `cpu.max` → cores, None when it is `max` (no quota)."""
    quota, _, period = text.strip().partition(" ")
    if quota == "max":
        return None
    return quota_cores(int(quota), int(period or "100000"))


def parse_cfs(quota_text: str, period_text: str) -> int | None:
    """cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` → cores, None when
    the quota is -1 (none)."""
    quota = int(quota_text.strip())
    if quota < 0:
        return None
    return quota_cores(quota, int(period_text.strip()))


def parse_own_cgroups(text: str) -> dict[int, PurePosixPath]:
    """/proc/self/cgroup → the process's cgroup path in the v2 hierarchy
    (`0::/path`) and in the v1 hierarchy holding the `cpu` controller
    (`N:cpu,cpuacct:/path`), keyed by version."""
    found: dict[int, PurePosixPath] = {}
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            found[2] = PurePosixPath(path)
        elif "cpu" in controllers.split(","):
            found[1] = PurePosixPath(path)
    return found


def parse_cgroup_mounts(text: str) -> dict[int, CgroupMount]:
    """/proc/self/mountinfo → the cgroup2 mount and the v1 mount carrying the
    `cpu` controller, keyed by version. A line is `id parent dev root
    mount_point options [optional fields...] - fstype source super_options`."""
    found: dict[int, CgroupMount] = {}
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        if not sep:
            continue
        fields, (fstype, _source, super_options, *_) = before.split(), after.split()
        root, mount_point = PurePosixPath(fields[3]), PurePosixPath(fields[4])
        if fstype == "cgroup2":
            found.setdefault(2, CgroupMount(2, root, mount_point))
        elif fstype == "cgroup" and "cpu" in super_options.split(","):
            found.setdefault(1, CgroupMount(1, root, mount_point))
    return found


def cgroup_dirs(mount: CgroupMount, own: PurePosixPath) -> list[PurePosixPath]:
    """The directories of the process's cgroup and its ancestors visible under
    the mount, innermost first. A cgroup path outside the mounted root (no
    cgroup namespace, a foreign mount) leaves only the mount point itself."""
    try:
        relative = own.relative_to(mount.root)
    except ValueError:
        return [mount.mount_point]
    innermost = mount.mount_point / relative
    return [innermost, *[parent for parent in innermost.parents if parent.is_relative_to(mount.mount_point)]]


def _read(path: PurePosixPath | Path) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def quota_of_dir(version: int, directory: PurePosixPath) -> int | None:
    """Cores the quota file(s) in one cgroup directory allow; None without a
    quota or a readable, well-formed file."""
    try:
        if version == 2:
            text = _read(directory / V2_QUOTA_FILE)
            return None if text is None else parse_cpu_max(text)
        quota, period = _read(directory / V1_QUOTA_FILE), _read(directory / V1_PERIOD_FILE)
        return None if quota is None or period is None else parse_cfs(quota, period)
    except ValueError:
        return None


def cgroup_quota_cores(cgroup_text: str, mountinfo_text: str) -> int | None:
    """The tightest CPU quota over the process's cgroup and its ancestors, in
    whole cores (v2 first, then v1); None when there is none."""
    own, mounts = parse_own_cgroups(cgroup_text), parse_cgroup_mounts(mountinfo_text)
    for version in (2, 1):
        if version not in own or version not in mounts:
            continue
        quotas = [q for d in cgroup_dirs(mounts[version], own[version])
                  if (q := quota_of_dir(version, d)) is not None]
        if quotas:
            return min(quotas)
    return None


def schedulable_cores() -> int:
    """The CPUs this process may run on (a cpuset), else the machine's cores."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def available_cores(proc_cgroup: Path = PROC_SELF_CGROUP, proc_mountinfo: Path = PROC_SELF_MOUNTINFO) -> int:
    """The container's CPU quota in whole cores, but never more than the CPUs
    this process may be scheduled on (sched_getaffinity, else cpu_count)."""
    cores = schedulable_cores()
    cgroup_text, mountinfo_text = _read(proc_cgroup), _read(proc_mountinfo)
    if cgroup_text is None or mountinfo_text is None:
        return cores
    quota = cgroup_quota_cores(cgroup_text, mountinfo_text)
    return cores if quota is None else min(quota, cores)
