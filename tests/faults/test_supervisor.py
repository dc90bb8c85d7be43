"""The supervisor `make run` and the fault tests use, on real processes: a
child killed with SIGKILL is cleaned up (its grandchildren killed, its temp
dir removed) and started again after its backoff; a crash loop backs off by
doubling up to the cap; a process that stayed up long enough starts again
from the first delay; stopping stops everything and restarts nothing.

Bounds (derived from the RestartPolicy each test sets): a restart begins no
sooner than its delay and is ready within delay + READY_MARGIN."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from devstack.processes import ProcessSpec, Stack, group_alive
from devstack.supervisor import RestartPolicy, Supervisor

pytestmark = pytest.mark.timeout(60)

READY_MARGIN = 5.0  # seconds: starting a Python child on a loaded 2-core machine

# Starts a grandchild (in its process group, as Chromium is for render_svc),
# leaves a file in its TMPDIR, says it is ready, then waits.
CHILD = """
import os, pathlib, subprocess, sys, time
tmp = pathlib.Path(os.environ["TMPDIR"])
grandchild = subprocess.Popen(["sleep", "300"])
(tmp / "profile-left-behind").write_text("x")
pathlib.Path(sys.argv[1]).write_text(str(grandchild.pid))
time.sleep(float(sys.argv[2]))
sys.exit(int(sys.argv[3]))
"""


def child_spec(tmp_path: Path, name: str, *, lives: float = 300.0, exit_code: int = 0) -> ProcessSpec:
    ready_file = tmp_path / f"{name}.ready"
    ready_file.unlink(missing_ok=True)

    def ready() -> bool:
        return ready_file.exists()

    return ProcessSpec(name, (sys.executable, "-c", CHILD, str(ready_file), str(lives), str(exit_code)),
                       tmp_path / "logs", ready, 30.0, tmp_dir=tmp_path / "tmp" / name)


def alive(pid: int) -> bool:
    """Running, that is: neither gone nor a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(what: str, check, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.1f}s")
        time.sleep(0.05)


def test_a_killed_process_is_cleaned_up_and_restarted(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path)
    said: list[str] = []
    policy = RestartPolicy(first_delay=0.5, max_delay=30.0, stable_after=60.0)
    stack.start(child_spec(tmp_path, "worker"))
    first = stack.processes["worker"]
    grandchild = int((tmp_path / "worker.ready").read_text())
    (tmp_path / "worker.ready").unlink()
    assert (first.spec.tmp_dir / "profile-left-behind").exists()
    supervisor = Supervisor(stack, policy, said.append).start()
    kills = 0
    try:
        os.kill(first.popen.pid, signal.SIGKILL)
        kills += 1
        wait_for("restart", lambda: stack.processes["worker"] is not first, policy.first_delay + READY_MARGIN)
        [restart] = supervisor.restarts_of("worker")
        wait_for("ready again", lambda: restart.ready_at is not None, policy.first_delay + READY_MARGIN)
        assert restart.exit_code == -signal.SIGKILL and restart.delay == policy.first_delay
        assert policy.first_delay <= restart.downtime <= policy.first_delay + READY_MARGIN
        assert said[0] == "worker exited with -9; restarting in 0.5 s (restart 1)"
        assert said[1].startswith("worker is back, ready ")
        # Nothing of the first process's tree is left; its temp dir was new.
        assert not group_alive(first.popen.pid)
        assert not alive(grandchild)
        second = stack.processes["worker"]
        assert (second.spec.tmp_dir / "profile-left-behind").exists()
        assert second.popen.poll() is None
    finally:
        stack.stop()
    assert kills == 1 and len(supervisor.restarts) == 1
    assert not group_alive(second.popen.pid), "stop leaves nothing running"
    assert not second.spec.tmp_dir.exists(), "stop removes the temp dir"


def test_a_crash_loop_backs_off_doubling_to_the_cap_then_resets_once_stable(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path)
    policy = RestartPolicy(first_delay=0.1, max_delay=0.4, stable_after=3.0)
    stack.start(child_spec(tmp_path, "flaky", lives=0.3, exit_code=3))
    supervisor = Supervisor(stack, policy, lambda line: None).start()
    try:
        wait_for("five restarts", lambda: len(supervisor.restarts) >= 5,
                 5 * (0.3 + policy.max_delay + READY_MARGIN))
    finally:
        stack.stop()
    delays = [r.delay for r in supervisor.restarts[:5]]
    assert delays == [0.1, 0.2, 0.4, 0.4, 0.4]
    assert all(r.exit_code == 3 for r in supervisor.restarts)

    # One that stays up past stable_after starts again from the first delay.
    stack = Stack.on_free_ports(tmp_path)
    stack.start(child_spec(tmp_path, "steady", lives=policy.stable_after + 0.5, exit_code=1))
    supervisor = Supervisor(stack, policy, lambda line: None).start()
    try:
        wait_for("two restarts", lambda: len(supervisor.restarts) >= 2,
                 2 * (policy.stable_after + 0.5 + policy.max_delay + READY_MARGIN))
    finally:
        stack.stop()
    assert [r.delay for r in supervisor.restarts[:2]] == [0.1, 0.1]


def test_after_stop_nothing_is_restarted(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path)
    stack.start(child_spec(tmp_path, "a"))
    stack.start(child_spec(tmp_path, "b"))
    procs = dict(stack.processes)
    supervisor = Supervisor(stack, RestartPolicy(first_delay=0.1), lambda line: None).start()
    stack.stop()
    time.sleep(0.5)
    assert supervisor.restarts == [] and stack.processes == {}
    assert all(p.popen.poll() is not None and not group_alive(p.popen.pid) for p in procs.values())


def children_of(pid: int) -> dict[str, int]:
    """{module: pid} of the `python -m <module>` children of `pid`."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"-m" in argv:
            found[argv[argv.index(b"-m") + 1].decode()] = int(stat.parent.name)
    return found


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_make_run_restarts_a_killed_service_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`make run` (python -m devstack) in a data dir of its own, on free ports:
    render_svc killed with SIGKILL is restarted and said so, its Chromium
    processes and temp profiles gone; Ctrl-C stops everything; a second run
    reuses the NATS passwords of the data dir."""
    import subprocess

    from devstack.processes import NATS_PASSWORDS_FILE, free_port

    ports = {name: free_port() for name in ("NATS_PORT", "S3_PORT")}
    addrs = {name: f"127.0.0.1:{free_port()}" for name in (
        "SNAPSHOT_ADDR", "RENDER_HEALTH_ADDR", "NOTIFIER_HEALTH_ADDR", "GATEWAY_ADDR",
        "SNAPSHOT_METRICS_ADDR", "RENDER_METRICS_ADDR", "GATEWAY_METRICS_ADDR", "NOTIFIER_METRICS_ADDR")}
    env = {**os.environ, "CHARTSNAP_DATA_DIR": str(tmp_path / "var"), "BOKEH_IN_DOCKER": "1",
           **{f"CHARTSNAP_{k}": str(v) for k, v in {**ports, **addrs}.items()}}
    out = tmp_path / "make-run.out"

    def run_until_ready() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "devstack"], env=env, stdout=open(out, "w"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("make run ready", lambda: "chartsnap is ready at" in out.read_text() or proc.poll() is not None,
                 150)
        assert proc.poll() is None, out.read_text()
        return proc

    run = run_until_ready()
    try:
        children = children_of(run.pid)
        assert set(children) == {"snapshot_svc", "render_svc", "notifier_svc", "gateway"}, children
        render = children["render_svc"]
        assert group_alive(render)
        tmp = Stack.on_free_ports(tmp_path / "var").tmp_dir("render_svc")   # where make run puts it
        old_profiles = {p.name for p in tmp.iterdir()}
        assert any(name.startswith("chartsnap-chromium-") for name in old_profiles)
        os.kill(render, signal.SIGKILL)
        wait_for("restart said", lambda: "render_svc is back" in out.read_text(), 0.5 + 120 + READY_MARGIN)
        assert "render_svc exited with -9; restarting in 0.5 s (restart 1)" in out.read_text()
        assert not group_alive(render), "Chromium of the killed render_svc survives"
        assert old_profiles.isdisjoint(p.name for p in tmp.iterdir()), "old temp profiles left behind"
        passwords = (tmp_path / "var" / NATS_PASSWORDS_FILE).read_text()
        pids = children_of(run.pid)
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(60) == 0, out.read_text()
    assert out.read_text().rstrip().endswith("stopped")
    assert not any(alive(pid) or group_alive(pid) for pid in pids.values())

    run = run_until_ready()
    run.send_signal(signal.SIGINT)
    assert run.wait(60) == 0
    assert (tmp_path / "var" / NATS_PASSWORDS_FILE).read_text() == passwords
