"""No secret in any process's arguments (which every local user can read with
`ps`): the S3 secret key and the NATS passwords reach the stack's processes
through their environment only. Reads /proc/<pid>/cmdline of every process
the stack started and of everything those started (Chromium included).

Bound: none in time; counts the processes it read, at least one per stack
process."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.processes import Stack

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]


def processes_in_group(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def read_nul_separated(path: Path) -> list[str]:
    try:
        return path.read_bytes().decode(errors="replace").split("\0")
    except OSError:  # exited meanwhile
        return []


def test_no_secret_in_any_command_line(stack: Stack) -> None:
    secrets = {"S3 secret key": stack.creds.secret_key,
               **{f"NATS password of {user}": pw for user, pw in stack.nats_passwords.items()}}
    read = 0
    for name, proc in stack.processes.items():
        pids = processes_in_group(proc.popen.pid)
        assert proc.popen.pid in pids, f"{name} is not running"
        for pid in pids:
            argv = read_nul_separated(Path(f"/proc/{pid}/cmdline"))
            if not argv:
                continue
            read += 1
            joined = " ".join(argv)
            for what, secret in secrets.items():
                assert secret not in joined, f"{what} in the arguments of {name} (pid {pid}): {argv[0]}"
    assert read >= len(stack.processes)
    # Positive control: the secrets do reach the processes, by environment.
    s3_env = read_nul_separated(Path(f"/proc/{stack.processes['s3'].popen.pid}/environ"))
    assert f"ROOT_SECRET_KEY={stack.creds.secret_key}" in s3_env
    render_env = read_nul_separated(Path(f"/proc/{stack.processes['render_svc'].popen.pid}/environ"))
    assert f"CHARTSNAP_NATS_PASSWORD={stack.nats_passwords['render_svc']}" in render_env
