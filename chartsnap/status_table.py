"""The one table from domain errors to gRPC status codes, and from gRPC status
codes to HTTP statuses. Field errors travel as the standard rich error model
(google.rpc.BadRequest in `grpc-status-details-bin`), so any gRPC client can
read them, not only our gateway."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from chartsnap import bounds, errors

DOMAIN_TO_GRPC: dict[type[errors.ChartsnapError], grpc.StatusCode] = {
    errors.InvalidParams: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

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


def grpc_code_for(exc: errors.ChartsnapError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_TO_GRPC:
            return DOMAIN_TO_GRPC[cls]
    return grpc.StatusCode.INTERNAL


def http_status_for(code: grpc.StatusCode) -> int:
    return GRPC_TO_HTTP.get(code, 500)


def to_grpc_status(exc: errors.ChartsnapError) -> grpc.Status:
    """A grpc.Status carrying field violations for InvalidParams."""
    code = grpc_code_for(exc)
    status = status_pb2.Status(code=code.value[0], message=exc.message)
    if isinstance(exc, errors.InvalidParams):
        detail = any_pb2.Any()
        detail.Pack(bad_request_within_budget(exc.fields))
        status.details.append(detail)
    if isinstance(exc, errors.Unavailable):
        info = error_details_pb2.RetryInfo()
        info.retry_delay.seconds = exc.retry_after
        detail = any_pb2.Any()
        detail.Pack(info)
        status.details.append(detail)
    return rpc_status.to_status(status)


def bad_request_within_budget(fields: dict[str, list[str]]) -> error_details_pb2.BadRequest:
    """The field violations that fit in MAX_RICH_STATUS_BYTES (InvalidParams
    has already bounded their number and length); any that do not fit are
    counted under MORE_FIELD, so the trailer never passes gRPC's limit."""
    bad = error_details_pb2.BadRequest()
    pairs = [(f, m) for f, messages in fields.items() for m in messages]
    budget = bounds.MAX_RICH_STATUS_BYTES - 100  # room for the "and N more" note
    for i, (field, message) in enumerate(pairs):
        violation = bad.field_violations.add(field=field, description=message)
        if bad.ByteSize() > budget:
            bad.field_violations.remove(violation)
            bad.field_violations.add(field=bounds.MORE_FIELD, description=f"and {len(pairs) - i} more errors")
            break
    return bad


@dataclass(frozen=True)
class ErrorReply:
    """What the gateway answers for a failed RPC."""

    http_status: int
    body: dict
    retry_after: int | None = None


def error_reply_from_rpc(error: grpc.RpcError) -> ErrorReply:
    """Turn a failed RPC into the contract's error body and HTTP status."""
    code = error.code()
    http = http_status_for(code)
    message = error.details() or code.name.lower()
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
    if fields:
        body = {"errors": {"params": fields}}
    elif http >= 500:
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            retry_after = retry_after or 5
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
        retry_after = 5
    return ErrorReply(http, body, retry_after)


# google.rpc codes are the same numbers as grpc.StatusCode; keep the import used
# so a mismatch would surface at import time.
assert code_pb2.INVALID_ARGUMENT == grpc.StatusCode.INVALID_ARGUMENT.value[0]
