"""Every error body the gateway answers for a domain error or a failed RPC,
built one way (`error_reply`), with the one table from gRPC status codes to
HTTP statuses. A domain error the gateway finds itself is rendered exactly as
it would be had the snapshot service raised it."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from aiohttp import web
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from chartsnap import errors
from chartsnap.status_table import grpc_code_for
from gateway.request_body import UnsupportedMediaType
from gateway.responses import error_response

GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 404,  # tenancy: never reveal another account's resource
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 422,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    grpc.StatusCode.ABORTED: 503,
    grpc.StatusCode.CANCELLED: 503,
}

# Errors only the gateway raises, about HTTP itself: no gRPC code stands for them.
HTTP_ONLY: dict[type[errors.ChartsnapError], int] = {UnsupportedMediaType: 415}

RETRY_AFTER_S = 5  # what a 429 or 503 advises when the service named no delay


def http_status_for(code: grpc.StatusCode) -> int:
    return GRPC_TO_HTTP.get(code, 500)


@dataclass(frozen=True)
class ErrorReply:
    """What the gateway answers for a failed request."""

    http_status: int
    body: dict
    retry_after: int | None = None

    def response(self) -> web.Response:
        return error_response(self.http_status, self.body, self.retry_after)


def error_reply(code: grpc.StatusCode, message: str, fields: dict[str, list[str]] | None = None,
                retry_after: int | None = None, http_status: int | None = None) -> ErrorReply:
    """The contract's error body for a failure of gRPC status `code`: field
    errors as params; server-side failures and the transport's own refusals
    in fixed words that reveal nothing of the services."""
    http = http_status or http_status_for(code)
    if fields:
        body = {"errors": {"params": fields}}
    elif http >= 500:
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            retry_after = retry_after or RETRY_AFTER_S
            body = {"errors": {"system": ["Service temporarily unavailable, retry later"]}}
        else:
            body = {"errors": {"system": ["Internal error"]}}
    elif http == 401:
        body = {"errors": {"request": ["Authorization failed"]}}
    elif http == 429:
        # RESOURCE_EXHAUSTED also comes from the transport (message limits):
        # its details are gRPC internals, never shown.
        body = {"errors": {"request": ["Too many requests, retry later"]}}
    else:
        body = {"errors": {"request": [message]}}
    if http in (429, 503) and retry_after is None:
        retry_after = RETRY_AFTER_S
    return ErrorReply(http, body, retry_after)


def error_reply_for(exc: errors.ChartsnapError) -> ErrorReply:
    """A domain error found in the gateway, before or instead of any RPC."""
    return error_reply(grpc_code_for(exc), exc.message, getattr(exc, "fields", None),
                       getattr(exc, "retry_after", None), HTTP_ONLY.get(type(exc)))


def error_reply_from_rpc(error: grpc.RpcError) -> ErrorReply:
    """A failed RPC: its code, its message, and the field violations and retry
    delay its rich status (google.rpc.Status details) carries."""
    code = error.code()
    fields: dict[str, list[str]] = {}
    retry_after: int | None = None
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                for v in bad.field_violations:
                    fields.setdefault(v.field, []).append(v.description)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                retry_after = max(1, info.retry_delay.seconds)
    return error_reply(code, error.details() or code.name.lower(), fields, retry_after)
