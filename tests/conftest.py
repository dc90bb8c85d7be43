"""Fixtures shared by the integration and end-to-end tiers.

By default the infrastructure runs as local processes (nats-server from the
venv, the S3 store from the tools cache) on free ports in temp dirs.
`--infra=containers` runs them in testcontainers instead, against podman's
Docker-compatible API started by the harness, with the locally built dev
images (tests/deploy_live/podman_docker_api.py; PostgreSQL too); without podman
or those images the tests that need them are skipped with the reason.

`database` is the dimension of tests/databases.py: the integration and
end-to-end tiers run each test that needs it on SQLite and on PostgreSQL
(one throwaway cluster for the run); the other tiers on SQLite only."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from devstack.postgres import ThrowawayPostgres
from devstack.processes import Stack
from tests.databases import POSTGRESQL, TestDatabases, backends_for


@dataclass
class Peers:
    running: Any
    smtp: Any
    slack: Any
    hipchat: Any
    flowdock: Any
    campfire: Any

    @property
    def chat(self) -> dict[str, Any]:
        return {"slack": self.slack, "hipchat": self.hipchat, "flowdock": self.flowdock, "campfire": self.campfire}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--infra", choices=("local", "containers"), default=os.environ.get("CHARTSNAP_TEST_INFRA", "local"),
                     help="run NATS and the S3 store as local processes (default) or in testcontainers")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Session-scoped, so pytest runs every test of one backend before the next
    # and stops the one backend's `stack` before starting the other's.
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", backends_for(metafunc.definition.path), indirect=True, scope="session")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # After pytest has grouped the tests by backend, the tests with no backend go
    # first (in their order), so none runs beside the last backend's idle `stack`:
    # `make bench --smoke` starts a stack of its own, the browser tests want the CPU.
    # A module moves as a whole (by whether any of its tests has a backend), so
    # a module's own order holds: its last test may count what the others did.
    with_backend = {item.module for item in items if "database" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: getattr(item, "module", None) in with_backend)


# A failed test that ran against a stack shows the end of each process's log in its
# report, so a CI failure can be read from CI's output alone (the temp dirs are gone
# with the runner); once per stack, the first failure, so a stack that died does not
# print its logs for every test after it.
LOG_TAIL_LINES = 40
_stacks_shown: set[Path] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    stacks = {value.log_dir for value in getattr(item, "funcargs", {}).values() if isinstance(value, Stack)}
    for log_dir in sorted(stacks - _stacks_shown):
        _stacks_shown.add(log_dir)
        for log in sorted(log_dir.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"{log.name}, the end", "\n".join(lines)))


@pytest.fixture(scope="session")
def postgres_cluster(request: pytest.FixtureRequest) -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL cluster for the run, started when a test first needs it
    (with --infra=containers: the dev-postgres image, the same interface)."""
    if _containers(request):
        _container_engine(request)
        from tests.deploy_live.podman_docker_api import ContainerPostgres

        with ContainerPostgres.start() as container_cluster:
            yield container_cluster  # type: ignore[misc] - ThrowawayPostgres' interface
        return
    with ThrowawayPostgres.start() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TestDatabases:
    """Where this test's databases live: SQLite files, or the PostgreSQL cluster."""
    backend = request.param
    cluster = request.getfixturevalue("postgres_cluster") if backend == POSTGRESQL else None
    return TestDatabases(backend, tmp_path_factory.mktemp(f"databases-{backend}"), cluster)


@pytest.fixture
def database_url(database: TestDatabases) -> str:
    """The URL of a new empty database of the test's backend, for this test alone."""
    return database.new_url("test")


def _containers(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--infra") == "containers"


@pytest.fixture(scope="session")
def podman_docker_api() -> Iterator[Any]:
    """--infra=containers: podman's Docker-compatible API on a socket of the run's
    own (tests/deploy_live/podman_docker_api.py), DOCKER_HOST pointing at it.
    Skips with the reason when podman or the dev images are missing."""
    from tests.deploy_live.podman_docker_api import PodmanDockerApi, PodmanUnavailable

    try:
        api = PodmanDockerApi.start()
    except PodmanUnavailable as exc:
        pytest.skip(f"--infra=containers: {exc}; run with --infra=local")
    api.use()
    yield api
    api.stop()


def _container_engine(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("podman_docker_api")


def _start_infra(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("chartsnap")
    stack = Stack.on_free_ports(data_dir)
    containers: list[Any] = []
    try:
        if _containers(request):
            _container_engine(request)
            from tests.deploy_live.podman_docker_api import nats_container, s3_container

            nats_c, stack.external_nats_url = nats_container(stack)
            containers.append(nats_c)
            s3_c, stack.external_s3_endpoint = s3_container(stack)
            containers.append(s3_c)
        stack.start_infrastructure()
        yield stack
    finally:
        stack.stop()
        for c in reversed(containers):
            c.stop()


@pytest.fixture(scope="module")
def infra(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """NATS and the S3 store of one test module, running; no services. Each
    module gets its own, so consumers made by one test never meet another's."""
    yield from _start_infra(request, tmp_path_factory)


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    """Local stand-ins for the vendors (SMTP, Slack, HipChat, Flowdock, Campfire)
    that hold them to their real contracts and record what arrives."""
    from tests.peers.background import PeersInBackground
    from tests.peers.campfire import CampfirePeer
    from tests.peers.flowdock import FlowdockPeer
    from tests.peers.hipchat import HipChatPeer
    from tests.peers.slack import SlackPeer
    from tests.peers.smtp import SmtpPeer

    running = PeersInBackground(SmtpPeer(), SlackPeer(), HipChatPeer(), FlowdockPeer(), CampfirePeer())
    with running as (smtp, slack, hipchat, flowdock, campfire):
        yield Peers(running, smtp, slack, hipchat, flowdock, campfire)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, peers: Peers,
          database: TestDatabases) -> Iterator[Stack]:
    """The whole product, shared by the end-to-end tier: infrastructure plus every
    service, on a database of its own of the `database` backend (one stack at a time)."""
    for stack in _start_infra(request, tmp_path_factory):
        use_peers(stack, peers)
        stack.extra_env["CHARTSNAP_DATABASE_URL"] = database.new_url("stack")
        # The Librato documentation's example payloads, sent verbatim, are dated 2015-2016:
        # keep every resolution for a century so the sweeper does not expire them mid-test
        # (retention itself is tested on the store, tests/integration/test_rollup_store.py).
        for resolution in ("RAW", "MINUTE", "HOUR", "DAY"):
            stack.extra_env.setdefault(f"CHARTSNAP_{resolution}_RETENTION_DAYS", "36500")
        stack.start_snapshot_svc()
        stack.start_render_svc()
        stack.start_notifier_svc()
        stack.start_gateway()
        yield stack


def use_peers(stack: Stack, peers: Peers) -> None:
    """Point a stack's services at the local peers, as the e2e tier needs them."""
    stack.extra_env.update(peers.smtp.env())
    # The chat peers listen on loopback, which the notifier refuses unless allowed.
    stack.extra_env["CHARTSNAP_OUTBOUND_ALLOW"] = ",".join(f"{p.host}:{p.port}" for p in peers.chat.values())
    # Every e2e test comes from 127.0.0.1 and many check 401s on purpose:
    # the per-address failure limit would soon answer them all 429.
    # tests/security/test_rate_limits.py tests the limits on a gateway of its own.
    stack.extra_env.setdefault("CHARTSNAP_AUTH_FAILURE_LIMIT", "1000000")


def add_account(stack: Stack, email: str | None = None) -> tuple[str, str]:
    """A fresh account (e-mail, token) on `stack`, created with the real CLI."""
    import subprocess
    import sys

    email = email or unique_email()
    out = subprocess.run(
        [sys.executable, "-m", "snapshot_svc.admin_cli", "user", "add", email, "--name", "Test Person"],
        env={**os.environ, **stack.env}, capture_output=True, text=True, check=True, timeout=60,
    )
    return email, out.stdout.strip().splitlines()[-1]


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="module")
def account(stack: Stack) -> tuple[str, str]:
    """A fresh account (e-mail, token), created with the real CLI."""
    return add_account(stack)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
async def js(infra: Stack):  # noqa: ANN201
    """JetStream of the module's NATS (as the admin user) with every stream made
    anew: a test's own database numbers snapshots from 1 again, so an old
    duplicate window would drop its render requests as already seen."""
    import nats

    from chartsnap import queue

    nc = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    js = nc.jetstream()
    await queue.ensure_streams(js)
    for config in queue.STREAMS:
        await js.delete_stream(config.name)
    await streams_made_again(js)
    yield js
    await nc.close()


# nats-server answers a stream's delete before its file store is gone; creating
# the same name at once may meet the store half removed.
STORE_BEING_REMOVED = 10049  # JSStreamStoreFailedF: "error creating store for stream"


async def streams_made_again(js) -> None:  # noqa: ANN001 - JetStreamContext
    """ensure_streams after deleting them, trying again while the old stores
    are still being removed (bounded by JETSTREAM_ELECTION_BOUND_S)."""
    import asyncio
    import time

    from nats.js.errors import ServerError

    from chartsnap import queue
    from chartsnap.budgets import JETSTREAM_ELECTION_BOUND_S

    deadline = time.monotonic() + JETSTREAM_ELECTION_BOUND_S
    while True:
        try:
            return await queue.ensure_streams(js)
        except ServerError as exc:
            if exc.err_code != STORE_BEING_REMOVED or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(queue.PUBLISH_RETRY_WAIT_S)
