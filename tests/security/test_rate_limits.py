"""Rate limits: Librato's headers on authenticated responses, 429 with
Retry-After past the account's limit, the stricter per-address limit on failed
authentications (429 before any RPC), and wrong tokens never draining the
victim's budget.

Small limits run on gateways of their own, started in this process with the
gateway's factory on port 0 and pointed at the e2e stack's snapshot service,
so the shared stack keeps its defaults. Bound: each test counts the requests
it sent and the 429s it got, and asserts both exactly."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp
import pytest
import requests

from devstack.processes import Stack
from gateway.server import GatewayServer, start_gateway
from gateway.settings import GatewaySettings

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

LIMIT_HEADERS = ("X-Librato-RateLimit-Limit", "X-Librato-RateLimit-Remaining", "X-Librato-RateLimit-Reset")


@asynccontextmanager
async def gateway(snapshot_addr: str, rate_limit: int, auth_failure_limit: int) -> AsyncIterator[str]:
    settings = GatewaySettings.from_env({
        "CHARTSNAP_GATEWAY_ADDR": "127.0.0.1:0", "CHARTSNAP_GATEWAY_METRICS_ADDR": "127.0.0.1:0",
        "CHARTSNAP_SNAPSHOT_ADDR": snapshot_addr, "CHARTSNAP_RATE_LIMIT": str(rate_limit),
        "CHARTSNAP_AUTH_FAILURE_LIMIT": str(auth_failure_limit), "CHARTSNAP_RPC_TIMEOUT": "5",
    })
    server: GatewayServer = await start_gateway(settings)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def get(session: aiohttp.ClientSession, url: str, auth: tuple[str, str] | None) -> tuple[int, dict, dict]:
    headers = {"Authorization": aiohttp.encode_basic_auth(*auth)} if auth else {}
    async with session.get(url, headers=headers) as reply:
        return reply.status, dict(reply.headers), await reply.json(content_type=None)


def test_headers_on_every_authenticated_response_and_decreasing(stack: Stack, account: tuple[str, str]) -> None:
    """On the shared stack, with the default limit: the headers, and Remaining going down."""
    seen = []
    for _ in range(3):
        r = requests.get(f"{stack.gateway_url}/v1/spaces", auth=account, timeout=30)
        assert r.status_code == 200, r.text
        assert all(h in r.headers for h in LIMIT_HEADERS), r.headers
        seen.append(int(r.headers["X-Librato-RateLimit-Remaining"]))
        assert int(r.headers["X-Librato-RateLimit-Limit"]) == 6000
        assert int(r.headers["X-Librato-RateLimit-Reset"]) >= int(time.time())
    # Refill is 100 a second: a slow box may give one back between requests, never more than the elapsed time.
    assert seen[0] > seen[2] or seen[0] >= 5999, seen
    # 4xx after accepted credentials counts and carries them too; 401 does not.
    r = requests.get(f"{stack.gateway_url}/v1/spaces/99999999", auth=account, timeout=30)
    assert r.status_code == 404 and "X-Librato-RateLimit-Remaining" in r.headers
    r = requests.get(f"{stack.gateway_url}/v1/spaces", auth=(account[0], "wrong"), timeout=30)
    assert r.status_code == 401 and "X-Librato-RateLimit-Remaining" not in r.headers
    # Unauthenticated routes carry none.
    r = requests.get(f"{stack.gateway_url}/openapi.json", timeout=30)
    assert r.status_code == 200 and "X-Librato-RateLimit-Limit" not in r.headers


async def test_past_the_account_limit_is_a_429_with_retry_after(stack: Stack, account: tuple[str, str]) -> None:
    limit = 5
    async with gateway(stack.env["CHARTSNAP_SNAPSHOT_ADDR"], limit, 100) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            remaining = []
            for _ in range(limit):
                status, headers, _ = await get(session, f"{base}/v1/spaces", account)
                assert status == 200
                remaining.append(int(headers["X-Librato-RateLimit-Remaining"]))
            assert remaining == [4, 3, 2, 1, 0]
            status, headers, body = await get(session, f"{base}/v1/spaces", account)
            assert status == 429
            assert body == {"errors": {"request": ["Rate limit exceeded, retry later"]}}
            # 5 a minute: one token back every 12 s.
            assert 1 <= int(headers["Retry-After"]) <= 60 / limit
            assert headers["X-Librato-RateLimit-Remaining"] == "0"
            assert int(headers["X-Librato-RateLimit-Reset"]) > time.time()
            # Routes outside the API are not limited.
            status, _, _ = await get(session, f"{base}/healthz", None)
            assert status == 200


async def test_wrong_tokens_do_not_drain_the_account(stack: Stack, account: tuple[str, str]) -> None:
    limit, wrong = 5, 20
    async with gateway(stack.env["CHARTSNAP_SNAPSHOT_ADDR"], limit, 1000) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            statuses = [(await get(session, f"{base}/v1/spaces", (account[0], f"wrong-{i}")))[0]
                        for i in range(wrong)]
            assert statuses == [401] * wrong
            statuses = [(await get(session, f"{base}/v1/spaces", account))[0] for _ in range(limit)]
            assert statuses == [200] * limit


async def test_failed_authentications_per_address_get_429_before_any_rpc(stack: Stack,
                                                                         account: tuple[str, str]) -> None:
    failures = 3
    # Pointed at nothing: a request that reached an RPC would be a 503, so a
    # 429 shows the address was refused before any.
    async with gateway("127.0.0.1:1", 1000, failures) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            statuses = [(await get(session, f"{base}/v1/spaces", None))[0] for _ in range(failures)]
            assert statuses == [401] * failures  # no credentials: refused without an RPC
            status, headers, body = await get(session, f"{base}/v1/spaces", account)
            assert status == 429, body
            assert body == {"errors": {"request": ["Too many failed authentications from this address, retry later"]}}
            assert 1 <= int(headers["Retry-After"]) <= 60 / failures
            status, _, _ = await get(session, f"{base}/healthz", None)
            assert status == 200  # only the API is refused
    # And on a live upstream, wrong tokens count the same way.
    async with gateway(stack.env["CHARTSNAP_SNAPSHOT_ADDR"], 1000, failures) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            statuses = [(await get(session, f"{base}/v1/spaces", (account[0], "wrong")))[0]
                        for _ in range(failures + 2)]
            assert statuses == [401] * failures + [429, 429]


async def test_limit_zero_turns_the_account_limit_off(stack: Stack, account: tuple[str, str]) -> None:
    async with gateway(stack.env["CHARTSNAP_SNAPSHOT_ADDR"], 0, 0) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for _ in range(20):
                status, headers, _ = await get(session, f"{base}/v1/spaces", account)
                assert status == 200 and "X-Librato-RateLimit-Limit" not in headers
