"""`make run`: the whole stack on this machine, in the foreground.

Starts NATS (JetStream, file store under the data dir), the S3 store (data
under the data dir) and each service as its own process, waits until each is
healthy, prints the gateway URL and a ready line, and stops everything
cleanly on Ctrl-C. Ports come from CHARTSNAP_* variables (see README).

Once up, it supervises: a process that exits is cleaned up (its whole tree,
Chromium included, and its temp dir) and restarted with backoff (0.5 s
doubling to 30 s, back to 0.5 s after a minute up), and it says so. NATS
requires a login: each service gets its own random password, made once per
data dir (var/nats-passwords.json, mode 0600)."""

from __future__ import annotations

import os
import signal
import sys
import time

from devstack.processes import S3Credentials, Stack, StackPorts, StartupError
from chartsnap.settings import EnvReader, SettingsError
from devstack.supervisor import Supervisor


def port_of(env: EnvReader, name: str, default: str) -> int:
    return int(env.address(name, default).rpartition(":")[2])


def main() -> int:
    env = EnvReader()
    data_dir = env.data_dir()
    ports = StackPorts(
        nats=env.int("NATS_PORT", 4222, lo=1, hi=65535),
        s3=env.int("S3_PORT", 9000, lo=1, hi=65535),
        snapshot=port_of(env, "SNAPSHOT_ADDR", "127.0.0.1:50051"),
        render_health=port_of(env, "RENDER_HEALTH_ADDR", "127.0.0.1:50052"),
        gateway=port_of(env, "GATEWAY_ADDR", "127.0.0.1:8080"),
        notifier_health=port_of(env, "NOTIFIER_HEALTH_ADDR", "127.0.0.1:50053"),
    )
    s3 = env.s3()
    creds = S3Credentials(s3.access_key, s3.secret_key)
    try:
        env.finish()
    except SettingsError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    # Variables the user set win over the stack's defaults.
    overrides = {k: v for k, v in os.environ.items() if k.startswith("CHARTSNAP_")}
    stack = Stack(data_dir, ports, creds, extra_env=overrides)
    def on_signal(signum, frame):  # noqa: ANN001, ARG001 - SIGTERM stops like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    # Also when started in the background, where the shell ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print(f"data dir: {data_dir}  (logs in {stack.log_dir})", flush=True)
        started = time.monotonic()
        stack.start_infrastructure()
        print(f"  nats-server  nats://127.0.0.1:{ports.nats}  ready", flush=True)
        print(f"  S3 store     http://127.0.0.1:{ports.s3}  ready", flush=True)
        stack.start_snapshot_svc()
        print(f"  snapshot_svc 127.0.0.1:{ports.snapshot} (gRPC)  ready", flush=True)
        stack.start_render_svc()
        print(f"  render_svc   health 127.0.0.1:{ports.render_health} (gRPC)  ready", flush=True)
        stack.start_notifier_svc()
        smtp = f"{stack.env.get('CHARTSNAP_SMTP_HOST', '127.0.0.1')}:{stack.env.get('CHARTSNAP_SMTP_PORT', '2525')}"
        print(f"  notifier_svc health 127.0.0.1:{ports.notifier_health} (gRPC), SMTP via {smtp}  ready", flush=True)
        stack.start_gateway()
        print(f"  gateway      {stack.env['CHARTSNAP_PUBLIC_URL']}  ready", flush=True)
        print(f"chartsnap is ready at {stack.env['CHARTSNAP_PUBLIC_URL']} "
              f"(started in {time.monotonic() - started:.1f}s; Ctrl-C stops everything)", flush=True)
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
