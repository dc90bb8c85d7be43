"""render_svc.cpu_quota: the cores a container may use, from real cgroup
files' contents (cgroup v2 in a Kubernetes pod, v1 under Docker without a
cgroup namespace, a v2 quota on a parent slice, and this machine's own
hybrid v1 layout), and the render service's browser count taken from it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from render_svc import cpu_quota
from render_svc.cpu_quota import (
    CgroupMount,
    available_cores,
    cgroup_quota_cores,
    parse_cfs,
    parse_cgroup_mounts,
    parse_cpu_max,
    parse_own_cgroups,
    schedulable_cores,
)
from render_svc.settings import MAX_BROWSERS, RenderSettings

# /proc/self/mountinfo and /proc/self/cgroup as they read in a containerd pod
# on a cgroup v2 node (private cgroup namespace: the container's cgroup is /).
POD_V2_MOUNTINFO = (
    "1315 1290 0:279 / / rw,relatime master:442 - overlay overlay rw,lowerdir=/var/lib/containerd/l1\n"
    "1334 1315 0:29 / {mount} ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot\n"
)
POD_V2_CGROUP = "0::/\n"
# Docker on a cgroup v1 host without a cgroup namespace: the process's path
# is the host's, and the mount shows that same directory as its root.
DOCKER_ID = "3f0b1f8a6c0d2b5e9a7c4d1e8f2a6b3c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
DOCKER_V1_MOUNTINFO = (
    "646 628 0:52 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755\n"
    f"652 646 0:30 /docker/{DOCKER_ID} {{mount}} ro,nosuid,nodev,noexec,relatime master:12 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    f"653 646 0:31 /docker/{DOCKER_ID} /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:13 - cgroup "
    "cgroup rw,memory\n"
)
DOCKER_V1_CGROUP = (
    f"12:memory:/docker/{DOCKER_ID}\n"
    f"4:cpu,cpuacct:/docker/{DOCKER_ID}\n"
    f"1:name=systemd:/docker/{DOCKER_ID}\n"
    "0::/system.slice/containerd.service\n"
)
# A systemd host on cgroup v2: the process in a scope under a slice whose
# cpu.max holds the quota (CPUQuota=100%), the scope itself unlimited.
SLICE_V2_MOUNTINFO = "35 24 0:30 / {mount} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
SLICE_V2_CGROUP = "0::/chartsnap.slice/render.scope\n"
# This machine (a hybrid v1 layout; cpu quota -1), as read here.
HYBRID_V1_MOUNTINFO = (
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / {mount} rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
)
HYBRID_V1_CGROUP = "4:memory:/process_api/f6a59268edfb238bce94567e08d19c56\n2:cpuacct:/\n1:cpu:/\n0::/\n"


@pytest.mark.parametrize(("text", "cores"), [
    ("max 100000\n", None),            # no limits.cpu
    ("200000 100000\n", 2),            # limits.cpu: 2
    ("150000 100000\n", 2),            # 1500m: rounded up
    ("50000 100000\n", 1),             # 500m: at least one
    ("100000 100000\n", 1),
    ("800000 50000\n", 16),            # another period
    ("max\n", None),
])
def test_cgroup_v2_cpu_max(text, cores):
    assert parse_cpu_max(text) == cores


@pytest.mark.parametrize(("quota", "period", "cores"), [
    ("-1\n", "100000\n", None),
    ("300000\n", "100000\n", 3),
    ("250000\n", "100000\n", 3),
    ("10000\n", "100000\n", 1),
])
def test_cgroup_v1_cfs_quota(quota, period, cores):
    assert parse_cfs(quota, period) == cores


def test_own_cgroups_and_mounts_are_found_by_version():
    assert parse_own_cgroups(DOCKER_V1_CGROUP) == {1: PurePosixPath(f"/docker/{DOCKER_ID}"),
                                                   2: PurePosixPath("/system.slice/containerd.service")}
    assert parse_own_cgroups(HYBRID_V1_CGROUP) == {1: PurePosixPath("/"), 2: PurePosixPath("/")}
    mounts = parse_cgroup_mounts(HYBRID_V1_MOUNTINFO.format(mount="/sys/fs/cgroup/cpu"))
    assert mounts == {1: CgroupMount(1, PurePosixPath("/"), PurePosixPath("/sys/fs/cgroup/cpu")),
                      2: CgroupMount(2, PurePosixPath("/"), PurePosixPath("/sys/fs/cgroup/unified"))}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(("cpu_max", "cores"), [("200000 100000\n", 2), ("150000 100000\n", 2),
                                                ("max 100000\n", None)])
def test_a_pods_cgroup_v2_quota(tmp_path, cpu_max, cores):
    write(tmp_path / "cpu.max", cpu_max)
    assert cgroup_quota_cores(POD_V2_CGROUP, POD_V2_MOUNTINFO.format(mount=tmp_path)) == cores


def test_a_docker_cgroup_v1_quota_in_the_host_path(tmp_path):
    write(tmp_path / "cpu.cfs_quota_us", "250000\n")
    write(tmp_path / "cpu.cfs_period_us", "100000\n")
    assert cgroup_quota_cores(DOCKER_V1_CGROUP, DOCKER_V1_MOUNTINFO.format(mount=tmp_path)) == 3


def test_a_parents_quota_limits_its_children(tmp_path):
    write(tmp_path / "cpu.max", "max 100000\n")                       # the root has none
    write(tmp_path / "chartsnap.slice" / "cpu.max", "100000 100000\n")
    write(tmp_path / "chartsnap.slice" / "render.scope" / "cpu.max", "max 100000\n")
    assert cgroup_quota_cores(SLICE_V2_CGROUP, SLICE_V2_MOUNTINFO.format(mount=tmp_path)) == 1
    # The tightest wins when both levels have one.
    write(tmp_path / "chartsnap.slice" / "render.scope" / "cpu.max", "300000 100000\n")
    write(tmp_path / "chartsnap.slice" / "cpu.max", "400000 100000\n")
    assert cgroup_quota_cores(SLICE_V2_CGROUP, SLICE_V2_MOUNTINFO.format(mount=tmp_path)) == 3


def test_no_quota_files_no_cgroup_mount_or_garbage_mean_no_quota(tmp_path):
    hybrid = HYBRID_V1_MOUNTINFO.format(mount=tmp_path)
    assert cgroup_quota_cores(HYBRID_V1_CGROUP, hybrid) is None               # no files at all
    write(tmp_path / "cpu.cfs_quota_us", "-1\n")
    write(tmp_path / "cpu.cfs_period_us", "100000\n")
    assert cgroup_quota_cores(HYBRID_V1_CGROUP, hybrid) is None               # this machine's values
    write(tmp_path / "cpu.cfs_quota_us", "unlimited\n")
    assert cgroup_quota_cores(HYBRID_V1_CGROUP, hybrid) is None               # unreadable value
    assert cgroup_quota_cores(POD_V2_CGROUP, "") is None                      # nothing mounted


def test_available_cores_takes_the_quota_but_never_more_than_the_schedulable_cpus(tmp_path, monkeypatch):
    cgroup, mountinfo = tmp_path / "cgroup", tmp_path / "mountinfo"
    sys_fs = tmp_path / "sys-fs-cgroup"
    cgroup.write_text(POD_V2_CGROUP)
    mountinfo.write_text(POD_V2_MOUNTINFO.format(mount=sys_fs))
    write(sys_fs / "cpu.max", "100000 100000\n")
    monkeypatch.setattr(cpu_quota, "schedulable_cores", lambda: 8)
    assert available_cores(cgroup, mountinfo) == 1
    write(sys_fs / "cpu.max", "1600000 100000\n")
    assert available_cores(cgroup, mountinfo) == 8                           # a cpuset of 8 bounds it
    write(sys_fs / "cpu.max", "max 100000\n")
    assert available_cores(cgroup, mountinfo) == 8
    assert available_cores(tmp_path / "absent", mountinfo) == 8             # no /proc (not Linux)


def test_on_this_machine_the_real_files_give_between_one_and_the_schedulable_cpus():
    assert 1 <= available_cores() <= schedulable_cores() <= (os.cpu_count() or 1)


def test_the_render_service_sizes_its_browsers_from_the_quota_unless_told(monkeypatch):
    monkeypatch.setattr("render_svc.settings.available_cores", lambda: 3)
    settings = RenderSettings.from_env({})
    assert (settings.browsers, settings.slots) == (3, 4)
    told = RenderSettings.from_env({"CHARTSNAP_RENDER_BROWSERS": "2"})
    assert (told.browsers, told.slots) == (2, 3)
    monkeypatch.setattr("render_svc.settings.available_cores", lambda: 200)
    assert RenderSettings.from_env({}).browsers == MAX_BROWSERS              # a huge quota: the ceiling
