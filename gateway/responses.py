"""The gateway's JSON responses and the contract's error shape, shared by the
routes, the middlewares and the protocol-error handler.

Every body is strict JSON: `allow_nan=False`, so a non-finite float is a bug
caught here (the views turn overflowed aggregates into null before this)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

REALM = 'Basic realm="chartsnap"'


def json_text(body: Any) -> str:
    return json.dumps(body, allow_nan=False)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=json_text(body), status=status, content_type="application/json", headers=headers)


def error_response(status: int, body: dict, retry_after: int | None = None,
                   headers: dict | None = None) -> web.Response:
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = REALM
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    return json_response(body, status, all_headers)


def request_error(status: int, message: str, retry_after: int | None = None,
                  headers: dict | None = None) -> web.Response:
    return error_response(status, {"errors": {"request": [message]}}, retry_after, headers)
