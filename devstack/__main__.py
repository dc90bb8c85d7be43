"""`make run`: the whole stack on this machine, in the foreground.

Starts NATS (JetStream, file store under the data dir; CHARTSNAP_NATS_NODES=3:
a three-node cluster), the S3 store (data under the data dir) and each service
as its own process (CHARTSNAP_REPLICAS=N: N of each of snapshot_svc,
render_svc and notifier_svc, on free ports past the first; one gateway
balancing over every snapshot replica), waits until each is healthy, prints
one ready line per process and the gateway URL, and stops everything cleanly
on Ctrl-C. Ports come from CHARTSNAP_* variables (see README).

Once up, it supervises: a process that exits is cleaned up (its whole tree,
Chromium included, and its temp dir) and restarted with backoff (0.5 s
doubling to 30 s, back to 0.5 s after a minute up), and it says so. NATS
requires a login: each service gets its own random password, made once per
data dir (var/nats-passwords.json, mode 0600)."""

from __future__ import annotations

import signal
import sys
import time

from chartsnap.settings import SettingsError
from devstack.processes import Stack, StartupError
from devstack.replicas import BOUND_ADDRESSES, REPLICATED_SERVICES
from devstack.settings import DevstackSettings
from devstack.supervisor import Supervisor

LABEL_WIDTH = 14


def ready_line(label: str, where: str) -> str:
    return f"  {label:<{LABEL_WIDTH}} {where}  ready"


def nats_lines(stack: Stack) -> list[str]:
    nodes = stack.nats_cluster_nodes
    if len(nodes) == 1:
        return [ready_line("nats-server", nodes[0].url)]
    leader = stack.nats_meta_leader()
    return [ready_line(node.name, f"{node.url} (JetStream cluster of {len(nodes)}, meta leader {leader})")
            for node in nodes]


def service_lines(stack: Stack, service: str) -> list[str]:
    lines = []
    for name in stack.replica_names(service):
        env = stack.service_env(name)
        health, *_ = BOUND_ADDRESSES[service]
        if service == "snapshot_svc":
            where = f"{env[health]} (gRPC)"
        else:
            where = f"health {env[health]} (gRPC)"
        if service == "notifier_svc":
            where += f", SMTP via {env.get('CHARTSNAP_SMTP_HOST', '127.0.0.1')}:{env.get('CHARTSNAP_SMTP_PORT', '2525')}"
        lines.append(ready_line(name, where))
    return lines


def main() -> int:
    try:
        settings = DevstackSettings.from_env()
    except SettingsError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    stack = settings.stack()

    def on_signal(signum, frame):  # noqa: ANN001, ARG001 - SIGTERM stops like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    # Also when started in the background, where the shell ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def say(*lines: str) -> None:
        for line in lines:
            print(line, flush=True)

    try:
        say(f"data dir: {settings.data_dir}  (logs in {stack.log_dir})")
        started = time.monotonic()
        stack.start_infrastructure()
        say(*nats_lines(stack), ready_line("S3 store", f"http://{stack.s3_endpoint}"))
        stack.start_services()
        for service in REPLICATED_SERVICES:
            say(*service_lines(stack, service))
        stack.start_gateway()
        say(ready_line("gateway", f"{stack.env['CHARTSNAP_PUBLIC_URL']} -> snapshot_svc "
                                  f"{', '.join(stack.snapshot_addrs)} (round-robin)"))
        say(f"chartsnap is ready at {stack.env['CHARTSNAP_PUBLIC_URL']} "
            f"(started in {time.monotonic() - started:.1f}s; Ctrl-C stops everything)")
        Supervisor(stack).start()
        while True:
            time.sleep(3600)
    except StartupError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        # A second Ctrl-C must not leave half the stack running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
