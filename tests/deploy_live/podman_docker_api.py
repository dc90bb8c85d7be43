"""testcontainers for real, on this machine: podman's Docker-compatible API and
the locally built dev images for NATS, the S3 store and PostgreSQL.

No Docker engine runs here and no registry is reachable, so `--infra=containers`
(tests/conftest.py) starts `podman system service` on a socket of its own,
points DOCKER_HOST at it, turns ryuk off (its image cannot be pulled; the
fixtures stop what they start) and runs generic testcontainers DockerContainers
of localhost/chartsnap/dev-{nats,s3,postgres}:dev (scripts/build-images.sh).

Every container is on the host's network (as the `podman kube play` pods of
scripts/test-deploy.sh are), listening on 127.0.0.1 on a free port the
fixture chose, so the services under test reach it exactly as they reach the
local processes of `--infra=local`. NATS gets the same configuration as
devstack's single node (devstack.nats_cluster.single_node_config: the
stack's logins, JetStream, 8 MB payloads)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import nats_cluster
from devstack.postgres import DATABASE, READY_TIMEOUT as POSTGRES_READY_TIMEOUT
from devstack.processes import Stack, free_port, tcp_open, wait_until, write_private

REPO = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = REPO / "deploy" / "podman" / "containers.conf"
IMAGE_TAG = "dev"
NATS_IMAGE = f"localhost/chartsnap/dev-nats:{IMAGE_TAG}"
S3_IMAGE = f"localhost/chartsnap/dev-s3:{IMAGE_TAG}"
POSTGRES_IMAGE = f"localhost/chartsnap/dev-postgres:{IMAGE_TAG}"
IMAGE_UID = 10001           # every chartsnap image's user (deploy/images/*/Dockerfile)
SOCKET_BOUND_S = 30.0       # `podman system service` answers in ~1 s; a busy machine, a cold storage
# devstack's local NATS and S3 get 20 s to listen; a container also has to be created.
INFRA_READY_S = 60.0
POSTGRES_SUPERUSER = "postgres"


class PodmanUnavailable(Exception):
    pass


@dataclass
class PodmanDockerApi:
    """`podman system service` on a socket in a temp dir, for the test run."""

    root: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @classmethod
    def start(cls) -> "PodmanDockerApi":
        podman = shutil.which("podman")
        if podman is None:
            raise PodmanUnavailable("podman is not installed (scripts/test-deploy.sh installs it)")
        missing = [image for image in (NATS_IMAGE, S3_IMAGE, POSTGRES_IMAGE)
                   if subprocess.run([podman, "image", "exists", image], env=podman_env(), timeout=60).returncode]
        if missing:
            raise PodmanUnavailable(f"images not built: {', '.join(missing)} (make images)")
        api = cls(Path(tempfile.mkdtemp(prefix="chartsnap-podman-")))
        log = (api.root / "service.log").open("wb")
        # --time=0: serve until stopped, however long a test module is quiet.
        api.process = subprocess.Popen([podman, "system", "service", "--time=0", api.docker_host],
                                       stdout=log, stderr=subprocess.STDOUT, env=podman_env())
        try:
            wait_until(f"podman system service on {api.socket}", api.answers, SOCKET_BOUND_S)
        except Exception as exc:
            api.stop()
            raise PodmanUnavailable(f"{exc}; {(api.root / 'service.log').read_text()[-500:]}") from exc
        return api

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise PodmanUnavailable(f"podman system service exited with {self.process.returncode}")
        if not self.socket.exists():
            return False
        import docker

        try:
            client = docker.DockerClient(base_url=self.docker_host, timeout=5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - not answering yet
            return False

    def use(self) -> None:
        """Point docker-py and testcontainers at this service (before importing testcontainers)."""
        os.environ["DOCKER_HOST"] = self.docker_host
        os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def podman_env() -> dict[str, str]:
    """podman with the project's containers.conf (runc, lowered rlimits: crun fails on these hosts)."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def host_network_container(image: str) -> Any:
    from testcontainers.core.container import DockerContainer

    return DockerContainer(image, network_mode="host")


def readable_by_image(path: Path) -> Path:
    """A bind-mounted file keeps its owner: the images' user must own it (mode 0600 stays)."""
    if os.geteuid() == 0:
        os.chown(path, IMAGE_UID, IMAGE_UID)
    return path


def start_container(container: Any, what: str, ready: Any, bound_s: float) -> Any:
    container.start()
    try:
        wait_until(what, ready, bound_s)
    except Exception:
        logs = b"".join(container.get_logs()).decode(errors="replace")[-2000:]
        container.stop()
        raise RuntimeError(f"{what} not ready within {bound_s:.0f} s; its log:\n{logs}")
    return container


def nats_container(stack: Stack) -> tuple[Any, str]:
    """NATS as devstack runs it (the stack's logins), in the dev-nats image; its URL."""
    port = free_port()
    config = stack.data_dir / "nats-container.conf"
    write_private(config, nats_cluster.single_node_config(port, Path("/data"), stack.nats_passwords))
    container = (host_network_container(NATS_IMAGE)
                 .with_volume_mapping(str(readable_by_image(config)), "/etc/nats/nats.conf", "ro")
                 .with_command("-c /etc/nats/nats.conf"))
    start_container(container, f"NATS container on 127.0.0.1:{port}", lambda: tcp_open("127.0.0.1", port),
                    INFRA_READY_S)
    return container, f"nats://127.0.0.1:{port}"


def s3_container(stack: Stack) -> tuple[Any, str]:
    """The S3 store (Versity's posix backend, like devstack's) in the dev-s3 image; its endpoint."""
    port = free_port()
    container = (host_network_container(S3_IMAGE)
                 .with_env("ROOT_ACCESS_KEY", stack.creds.access_key)
                 .with_env("ROOT_SECRET_KEY", stack.creds.secret_key)
                 .with_command(f"--port 127.0.0.1:{port} --quiet posix /data"))
    start_container(container, f"S3 container on 127.0.0.1:{port}", lambda: tcp_open("127.0.0.1", port),
                    INFRA_READY_S)
    return container, f"127.0.0.1:{port}"


@dataclass
class ContainerPostgres:
    """The `postgres_cluster` interface (url, url_of, create_database, stop) of
    ThrowawayPostgres, served by the dev-postgres image."""

    container: Any
    port: int
    password: str = field(repr=False)

    @property
    def url(self) -> str:
        return self.url_of(DATABASE)

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://{POSTGRES_SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=POSTGRES_SUPERUSER, password=self.password,
                             dbname=DATABASE, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user=POSTGRES_SUPERUSER, password=self.password,
                                 dbname=DATABASE, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    @classmethod
    def start(cls) -> "ContainerPostgres":
        port, password = free_port(), secrets.token_urlsafe(16)
        container = (host_network_container(POSTGRES_IMAGE)
                     .with_env("POSTGRES_USER", POSTGRES_SUPERUSER)
                     .with_env("POSTGRES_PASSWORD", password)
                     .with_env("POSTGRES_DB", DATABASE)
                     .with_env("POSTGRES_PORT", str(port))
                     # Loopback only (the image's own '*' comes first; the last -c wins);
                     # unsynced, as the tests' throwaway clusters run (devstack.postgres).
                     .with_command("-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"))
        pg = cls(container, port, password)
        # initdb, then the server: the bound of devstack's `pg_ctl start -w`, plus creating the container.
        start_container(container, f"PostgreSQL container on 127.0.0.1:{port}", pg.accepts,
                        POSTGRES_READY_TIMEOUT + INFRA_READY_S)
        return pg

    def stop(self) -> None:
        self.container.stop()

    def __enter__(self) -> "ContainerPostgres":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
