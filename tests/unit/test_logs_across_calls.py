"""The request id from the gateway's HTTP edge to the gRPC server's log
context, in process: the gateway middleware (id, response header, access
line), the gateway channel's interceptor, the gRPC server's interceptor."""

from __future__ import annotations

import json
import logging
import re

import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chartsnap import logs, request_ids
from chartsnap.basic_auth import basic_header
from chartsnap.grpc_server import RequestIdInterceptor, bind
from gateway.request_context import ACCESS_LOGGER, RequestIdMetadata, access_log_middleware

pytestmark = pytest.mark.timeout(20)
HEX_ID = re.compile(r"[0-9a-f]{32}")
TOKEN = "0123456789abcdef-secret-token"


async def ok(request: web.Request) -> web.Response:
    # What a handler sees: the id bound for it.
    return web.json_response({"bound": request_ids.current_request_id()})


async def refused(request: web.Request) -> web.Response:
    return web.json_response({"errors": {"request": ["Authorization failed"]}}, status=401)


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ok")


async def crashed(request: web.Request) -> web.Response:
    raise RuntimeError("bug")


@pytest.fixture
async def client():
    app = web.Application(middlewares=[access_log_middleware])
    app.add_routes([web.get("/ok", ok), web.get("/refused", refused), web.get("/moved", moved),
                    web.get("/crashed", crashed), web.get("/healthz", ok), web.get("/v1/ok", ok),
                    web.get("/v1/refused", refused)])
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def access_lines(caplog) -> list[logging.LogRecord]:  # noqa: ANN001
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


class JsonLines(logging.Handler):
    """Formats as a service's handler does: when the line is written, in its context."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.JsonFormatter("gateway"))
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def test_a_sane_client_id_is_kept_bound_and_returned(client):
    written = JsonLines()
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(written)
    access.setLevel(logging.INFO)
    try:
        resp = await client.get("/ok?page=2&token=x", headers={"X-Request-Id": "test-abc.1:2"})
    finally:
        access.removeHandler(written)
        access.setLevel(logging.NOTSET)
    assert resp.headers["X-Request-Id"] == "test-abc.1:2"
    assert (await resp.json())["bound"] == "test-abc.1:2"
    [line] = written.lines
    assert {k: line[k] for k in ("level", "logger", "msg", "request_id", "method", "path", "route", "status",
                                 "remote")} == {
        "level": "INFO", "logger": ACCESS_LOGGER, "msg": "GET /ok 200", "request_id": "test-abc.1:2",
        "method": "GET", "path": "/ok", "route": "/ok", "status": 200, "remote": "127.0.0.1"}
    assert line["duration_ms"] >= 0 and "token" not in json.dumps(line)


@pytest.mark.parametrize("sent", [None, "", "x" * 65, "x" * 8_000, "has space", "a;b", "<i>", "quote\"d"])
async def test_any_other_id_is_replaced_never_echoed(client, sent):
    resp = await client.get("/ok", headers={} if sent is None else {"X-Request-Id": sent})
    made = resp.headers["X-Request-Id"]
    assert HEX_ID.fullmatch(made) and made != sent
    assert (await resp.json())["bound"] == made


async def test_error_replies_and_redirects_carry_the_id_too(client):
    for path, status in (("/refused", 401), ("/moved", 302), ("/nowhere", 404)):
        resp = await client.get(path, headers={"X-Request-Id": f"r{status}"}, allow_redirects=False)
        assert (resp.status, resp.headers.get("X-Request-Id")) == (status, f"r{status}"), path


async def test_a_share_pages_secret_is_not_logged(client, caplog):
    with caplog.at_level(logging.INFO, ACCESS_LOGGER):
        await client.get("/s/abcdefghijklmnop-12")
    [line] = access_lines(caplog)
    assert line.path == "/s/\u2026-12" and "abcdefghijklmnop" not in logs.JsonFormatter("gateway").format(line)


async def test_a_probe_answered_ok_is_a_debug_line(client, caplog):
    with caplog.at_level(logging.DEBUG, ACCESS_LOGGER):
        await client.get("/healthz")
        await client.get("/ok")
    assert [(r.levelname, r.path) for r in access_lines(caplog)] == [("DEBUG", "/healthz"), ("INFO", "/ok")]


async def test_an_unhandled_failure_is_logged_as_a_500(client, caplog):
    with caplog.at_level(logging.INFO, ACCESS_LOGGER):
        resp = await client.get("/crashed")
    assert resp.status == 500
    assert access_lines(caplog)[-1].status == 500


async def test_the_access_line_holds_no_credential_and_the_account_only_once_accepted(client, caplog):
    auth = basic_header("ops@example.com", TOKEN)
    pasted = basic_header(TOKEN, "")   # a token as the e-mail
    with caplog.at_level(logging.INFO, ACCESS_LOGGER):
        await client.get("/v1/ok", headers={"Authorization": auth})
        await client.get("/v1/refused", headers={"Authorization": pasted})
        await client.get("/ok", headers={"Authorization": pasted})      # nothing checks credentials there
    accepted, refused_line, unchecked = access_lines(caplog)
    assert accepted.account == "ops@example.com"
    assert not hasattr(refused_line, "account") and not hasattr(unchecked, "account")
    formatter = logs.JsonFormatter("gateway")
    written = "\n".join(formatter.format(r) for r in caplog.records)
    assert TOKEN not in written and auth.split()[1] not in written
    assert all(json.loads(text) for text in written.splitlines())


def _echo_handler() -> grpc.GenericRpcHandler:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return (request_ids.current_request_id() or "").encode()

    return grpc.method_handlers_generic_handler("test.Echo", {
        "Id": grpc.unary_unary_rpc_method_handler(echo)})


@pytest.fixture
async def echo_address():
    server = grpc.aio.server(interceptors=[RequestIdInterceptor()])
    server.add_generic_rpc_handlers((_echo_handler(),))
    port = bind(server, "127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def test_the_gateway_channel_carries_the_bound_id_and_the_server_binds_it(echo_address):
    async with grpc.aio.insecure_channel(echo_address, interceptors=[RequestIdMetadata()]) as channel:
        call = channel.unary_unary("/test.Echo/Id")
        with request_ids.bound(request_id="r-42"):
            assert await call(b"", timeout=5) == b"r-42"
            # A call that names its own id keeps it (nothing is sent twice).
            assert await call(b"", metadata=(("x-request-id", "mine"),), timeout=5) == b"mine"
        made = (await call(b"", timeout=5)).decode()
    assert HEX_ID.fullmatch(made)


@pytest.mark.parametrize("sent", ["has space", "x" * 65, "semi;colon"])
async def test_the_server_replaces_an_insane_id_from_any_caller(echo_address, sent):
    async with grpc.aio.insecure_channel(echo_address) as channel:
        got = (await channel.unary_unary("/test.Echo/Id")(b"", metadata=(("x-request-id", sent),),
                                                            timeout=5)).decode()
    assert HEX_ID.fullmatch(got) and got != sent
