"""Guessing share links: a malformed token never reaches an RPC and costs
nothing; every well-formed unknown token counts against the address's
failed-authentication budget, so
an address that guesses gets 429 (for share pages and the API alike) before
any RPC.

Small limits run on gateways of their own (the gateway's factory on port 0, as
in test_rate_limits), pointed at the e2e stack's snapshot service or at
nothing. Bound: each test counts what it sent and asserts every status."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp
import pytest

from chartsnap.image_keys import SHARE_PATH
from devstack.processes import Stack
from gateway.server import GatewayServer, start_gateway
from gateway.settings import GatewaySettings
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

RPC_TIMEOUT = 2  # seconds: the upstream-down case waits for no more than this


@asynccontextmanager
async def gateway(snapshot_addr: str, auth_failure_limit: int) -> AsyncIterator[str]:
    settings = GatewaySettings.from_env({
        "CHARTSNAP_GATEWAY_ADDR": "127.0.0.1:0", "CHARTSNAP_GATEWAY_METRICS_ADDR": "127.0.0.1:0",
        "CHARTSNAP_SNAPSHOT_ADDR": snapshot_addr, "CHARTSNAP_AUTH_FAILURE_LIMIT": str(auth_failure_limit),
        "CHARTSNAP_RPC_TIMEOUT": str(RPC_TIMEOUT),
    })
    server: GatewayServer = await start_gateway(settings)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def get(session: aiohttp.ClientSession, url: str, auth: tuple[str, str] | None = None) -> tuple[int, dict, str]:
    headers = {"Authorization": aiohttp.encode_basic_auth(*auth)} if auth else {}
    async with session.get(url, headers=headers) as reply:
        return reply.status, dict(reply.headers), await reply.text()


def a_share_token(stack: Stack, account: tuple[str, str]) -> str:
    """The token of a real snapshot (drawn or not: its page answers 200 either way)."""
    api = Api(stack.gateway_url, *account)
    _, chart_id = api.make_chart("Guesses", "line", [{"metric": "guessed"}])
    created = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}}})
    assert created.status_code == 202, created.text
    return created.json()["share_href"].rsplit("/", 1)[1]


def guessed_token(token: str) -> str:
    """Well formed, the right snapshot id, another secret."""
    return f"{secrets.token_hex(8)}-{token.split('-')[1]}"


async def test_unknown_tokens_use_up_the_address_budget_then_429_before_any_rpc(
        stack: Stack, account: tuple[str, str]) -> None:
    token = a_share_token(stack, account)
    guesses = 3
    async with gateway(stack.env["CHARTSNAP_SNAPSHOT_ADDR"], guesses) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            # Found pages cost nothing from the budget.
            for _ in range(guesses + 1):
                assert (await get(session, f"{base}{SHARE_PATH}{token}"))[0] == 200
            # Malformed tokens (a link cut short, a path trick) are no guess at a
            # secret: 404, and nothing spent.
            statuses = [(await get(session, f"{base}{SHARE_PATH}{path}"))[0]
                        for path in ("12345", "x" * 500, token[:-1] + "-", token.upper())]
            assert statuses == [404] * 4
            assert (await get(session, f"{base}{SHARE_PATH}{token}"))[0] == 200
            # Each well-formed guess (one RPC each) spends one.
            statuses = [(await get(session, f"{base}{SHARE_PATH}{guessed_token(token)}"))[0]
                        for _ in range(guesses)]
            assert statuses == [404] * guesses
            status, headers, body = await get(session, f"{base}{SHARE_PATH}{token}")
            assert status == 429, body  # even the right token, once the address is out of guesses
            assert headers["Content-Type"] == "text/html; charset=utf-8" and "Too many" in body
            assert 1 <= int(headers["Retry-After"]) <= 60 / guesses
            assert headers["Cache-Control"] == "no-store"
            # One budget per address for guessing secrets: the API refuses it too.
            assert (await get(session, f"{base}/v1/spaces", account))[0] == 429
            assert (await get(session, f"{base}/healthz"))[0] == 200


async def test_a_malformed_token_is_refused_before_any_rpc() -> None:
    # Pointed at nothing: a request that reached an RPC would be a 503.
    async with gateway("127.0.0.1:1", 1000) as base:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for path in ("1", "abcdefghij012345", "ABCDEFGHIJ012345-1", "abcdefghij012345-01",
                         "abcdefghij012345-1.png", "%3Cscript%3E", "abcdefghij012345-1%0a"):
                status, headers, body = await get(session, f"{base}{SHARE_PATH}{path}")
                assert status == 404, (path, status)
                assert headers["Content-Type"] == "text/html; charset=utf-8" and "<script" not in body
            # A well-formed token does call, and an upstream that is down is a 503 page, not a traceback.
            status, headers, body = await get(session, f"{base}{SHARE_PATH}abcdefghij012345-1")
            assert status == 503 and headers["Retry-After"] and "Temporarily unavailable" in body
            assert headers["Content-Type"] == "text/html; charset=utf-8"
