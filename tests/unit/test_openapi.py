"""The OpenAPI document covers every route the gateway serves, with the error
shape as every operation's default response, and is strict JSON."""

from __future__ import annotations

import json

import grpc

from chartsnap.bounds import MAX_STREAMS, MAX_TAG_VALUES
from gateway.app import build_app
from gateway.openapi import DOCUMENT, DOCUMENT_TEXT
from gateway.settings import GatewaySettings


async def _routes() -> set[tuple[str, str]]:
    settings = GatewaySettings.from_env({"CHARTSNAP_SNAPSHOT_ADDR": "127.0.0.1:1"})
    channel = grpc.aio.insecure_channel(settings.snapshot_addr)  # never called: only the routes are read
    try:
        app = build_app(settings, channel)
        return {(r.method.lower(), r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    finally:
        await channel.close()


async def test_every_route_is_documented_and_nothing_else() -> None:
    documented = {(method, path) for path, ops in DOCUMENT["paths"].items() for method in ops}
    assert documented == await _routes()


def test_every_operation_answers_errors_in_the_contract_shape() -> None:
    for path, ops in DOCUMENT["paths"].items():
        for method, op in ops.items():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (method, path)


def test_bounds_come_from_chartsnap_bounds_and_the_text_is_strict_json() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ChartInput"]["properties"]["streams"]["maxItems"] == MAX_STREAMS
    assert schemas["TagFilter"]["properties"]["values"]["maxItems"] == MAX_TAG_VALUES
    assert json.loads(DOCUMENT_TEXT) == DOCUMENT
