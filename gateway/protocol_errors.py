"""Requests aiohttp cannot parse (a bad request line, a malformed or too long
header, a broken chunked body) are answered by aiohttp itself, before any
middleware: by default as plain text quoting the offending bytes, which may be
the client's Authorization header. Here they are answered in the contract's
error shape and quote nothing; the log names only the kind of error.

aiohttp has no public hook for this (aio-libs/aiohttp#3287), so the runner
builds its server with a RequestHandler whose `handle_error` is ours;
tests/security/test_hostile_input.py fails if an aiohttp upgrade breaks it."""

from __future__ import annotations

import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from chartsnap import request_ids
from gateway.responses import json_text

log = logging.getLogger(__name__)


def protocol_error_body(status: int) -> dict:
    if status >= 500:
        return {"errors": {"system": ["Internal error" if status == 500 else "Request timed out"]}}
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Bad Request"
    return {"errors": {"request": [f"Malformed HTTP request ({reason})"]}}


class JsonErrorsRequestHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        # Answered before any middleware ran: this reply gets its request id
        # here. The exception's text quotes the request; only its class is logged.
        request_id = request_ids.new()
        with request_ids.bound(request_id=request_id):
            if status >= 500:
                log.warning("answered %s to %s: %s", status, request.remote, type(exc).__name__ if exc else "timeout")
            else:
                log.info("malformed request from %s answered %s (%s)", request.remote, status,
                         type(exc).__name__ if exc else "-")
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        response = web.Response(status=status, text=json_text(protocol_error_body(status)),
                                content_type="application/json",
                                headers={request_ids.HTTP_HEADER: request_id})
        response.force_close()
        return response


class JsonErrorsServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorsRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections answer protocol errors in JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return JsonErrorsServer(server.request_handler, request_factory=server.request_factory,
                                handler_cancellation=server.handler_cancellation, loop=server._loop,
                                **server._kwargs)
