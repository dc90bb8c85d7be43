"""The one table from domain errors to gRPC status codes, used by every gRPC
service. Field errors travel as the standard rich error model
(google.rpc.BadRequest in `grpc-status-details-bin`), and a retry delay as
google.rpc.RetryInfo, so any gRPC client can read them, not only our gateway
(whose HTTP rendering is gateway.error_replies)."""

from __future__ import annotations

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


def grpc_code_for(exc: errors.ChartsnapError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_TO_GRPC:
            return DOMAIN_TO_GRPC[cls]
    return grpc.StatusCode.INTERNAL


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


# google.rpc codes are the same numbers as grpc.StatusCode; keep the import used
# so a mismatch would surface at import time.
assert code_pb2.INVALID_ARGUMENT == grpc.StatusCode.INVALID_ARGUMENT.value[0]
