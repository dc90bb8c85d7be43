"""Fixtures for the notifier's integration tests: NATS and the S3 store from
`infra` (one pair per test module), vendor peers, and the notifier service
running in-process with short retry and timeout settings."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import AsyncIterator, Awaitable, Callable

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chartsnap import queue
from chartsnap.image_store import ImageStore
from chartsnap.settings import S3Settings
from devstack.processes import Stack
from notifier_svc.outbound_policy import OutboundPolicy
from notifier_svc.retry_policy import RetryPolicy
from notifier_svc.service import NotifierService, start_notifier_service
from notifier_svc.settings import NotifierSettings
from notifier_svc.smtp_sender import SmtpServer
from notifier_svc.vendor_http import AttemptTimeouts
from tests.integration.notifier.harness import ResultCollector, chart_png
from tests.peers.campfire import CampfirePeer
from tests.peers.flowdock import FlowdockPeer
from tests.peers.hipchat import HipChatPeer
from tests.peers.slack import SlackPeer
from tests.peers.smtp import SmtpPeer

# Short enough that the whole suite runs in seconds, long enough that a
# healthy local peer always answers in time.
TEST_TIMEOUTS = AttemptTimeouts(connect=0.5, read=1.0, total=3.0)
TEST_RETRY = RetryPolicy(max_attempts=4, max_total_seconds=10.0, base_backoff=0.05, max_backoff=2.0)
# Every peer of these tests listens on 127.0.0.1, on a fresh port per test.
TEST_OUTBOUND_ALLOW = "127.0.0.1"


@pytest.fixture
def outbound_allowed_for_peers(infra: Stack) -> None:
    """A notifier process started from `infra` may reach the local peers."""
    infra.extra_env["CHARTSNAP_OUTBOUND_ALLOW"] = TEST_OUTBOUND_ALLOW


@pytest.fixture(scope="module")
def image_store(infra: Stack) -> ImageStore:
    store = ImageStore(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key, "chartsnap")
    store.ensure_bucket()
    return store


@pytest.fixture
def stored_png(image_store: ImageStore) -> tuple[str, bytes]:
    """(image_key, bytes) of a PNG put in the store for this test."""
    key, png = f"chart/notifier-{uuid.uuid4().hex[:12]}.png", chart_png()
    image_store.put_png(key, png)
    return key, png


@pytest.fixture
async def nc(infra: Stack) -> AsyncIterator[NATS]:
    conn = await nats.connect(infra.nats_url, **infra.nats_admin_options)
    yield conn
    await conn.close()


@pytest.fixture
async def js(nc: NATS) -> JetStreamContext:
    js = nc.jetstream()
    await queue.ensure_streams(js)
    return js


@pytest.fixture
async def results(nc: NATS) -> AsyncIterator[ResultCollector]:
    collector = await ResultCollector(nc).start()
    yield collector
    await collector.stop()


@pytest.fixture
async def smtp_peer() -> AsyncIterator[SmtpPeer]:
    async with SmtpPeer() as peer:
        yield peer


@pytest.fixture
async def slack() -> AsyncIterator[SlackPeer]:
    async with SlackPeer() as peer:
        yield peer


@pytest.fixture
async def hipchat() -> AsyncIterator[HipChatPeer]:
    async with HipChatPeer() as peer:
        yield peer


@pytest.fixture
async def flowdock() -> AsyncIterator[FlowdockPeer]:
    async with FlowdockPeer() as peer:
        yield peer


@pytest.fixture
async def campfire() -> AsyncIterator[CampfirePeer]:
    async with CampfirePeer() as peer:
        yield peer


def settings_for(infra: Stack, smtp_peer: SmtpPeer, **changes: object) -> NotifierSettings:
    """Settings pointing at infra and at `smtp_peer`; `changes` replace fields
    (e.g. smtp=SmtpServer(...), retry=RetryPolicy(...))."""
    settings = NotifierSettings(
        nats=infra.nats_settings(infra.nats_admin_login), health_addr="127.0.0.1:0",
        s3=S3Settings(infra.s3_endpoint, infra.creds.access_key, infra.creds.secret_key),
        concurrency=8,
        smtp=smtp_server_of(smtp_peer),
        retry=TEST_RETRY, timeouts=TEST_TIMEOUTS, outbound=OutboundPolicy.parse(TEST_OUTBOUND_ALLOW),
    )
    return replace(settings, **changes)


def smtp_server_of(peer: SmtpPeer) -> SmtpServer:
    return SmtpServer(host=peer.host, port=peer.port, user=peer.user or "", password=peer.password or "",
                      starttls=peer.starttls, ca_file=peer.ca_file)


@pytest.fixture
async def start_notifier(infra: Stack, smtp_peer: SmtpPeer
                         ) -> AsyncIterator[Callable[..., Awaitable[NotifierService]]]:
    """start_notifier(smtp_peer=None, **setting changes) → a running
    NotifierService, stopped after the test."""
    running: list[NotifierService] = []

    async def start(smtp_peer_: SmtpPeer | None = None, **changes: object) -> NotifierService:
        service = await start_notifier_service(settings_for(infra, smtp_peer_ or smtp_peer, **changes))
        running.append(service)
        return service

    yield start
    for service in running:
        await service.stop(grace=2.0)


@pytest.fixture
async def notifier(start_notifier) -> NotifierService:  # noqa: ANN001
    return await start_notifier()
