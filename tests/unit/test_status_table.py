"""chartsnap.errors, chartsnap.status_table and gateway.error_replies: domain error → gRPC status → HTTP reply."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from chartsnap import errors, status_table
from chartsnap.errors import ParamErrors
from gateway import error_replies
from gateway.request_body import UnsupportedMediaType


class FakeRpcError(grpc.RpcError):
    """What a failed grpc.aio call raises, as far as the gateway looks at it."""

    def __init__(self, code: grpc.StatusCode, details: str | None, trailing_metadata=()) -> None:
        super().__init__(details)
        self._code, self._details, self._metadata = code, details, trailing_metadata

    @classmethod
    def from_status(cls, status: grpc.Status) -> "FakeRpcError":
        return cls(status.code, status.details, status.trailing_metadata)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str | None:
        return self._details

    def trailing_metadata(self):
        return self._metadata


def _round_trip(exc: errors.ChartsnapError) -> error_replies.ErrorReply:
    return error_replies.error_reply_from_rpc(FakeRpcError.from_status(status_table.to_grpc_status(exc)))


# -- ParamErrors / InvalidParams -------------------------------------------------------------

def test_param_errors_collects_then_raises_all():
    problems = ParamErrors()
    assert not problems
    problems.raise_if_any()  # nothing to raise
    problems.add("duration", "must be positive")
    problems.add("width", "too small")
    problems.add("duration", "must be whole")
    assert problems
    with pytest.raises(errors.InvalidParams) as info:
        problems.raise_if_any()
    assert info.value.fields == {"duration": ["must be positive", "must be whole"], "width": ["too small"]}
    assert info.value.message == "duration must be positive, must be whole; width too small"


def test_invalid_params_one():
    exc = errors.InvalidParams.one("end_time", "is in the future")
    assert exc.fields == {"end_time": ["is in the future"]} and str(exc) == "end_time is in the future"


def test_unavailable_carries_retry_after():
    assert errors.Unavailable("queue down").retry_after == 5
    assert errors.Unavailable("queue down", retry_after=30).retry_after == 30


# -- domain error → gRPC code -------------------------------------------------------------------

@pytest.mark.parametrize("exc, code", [
    (errors.InvalidParams.one("a", "b"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.InvalidRequest("bad"), grpc.StatusCode.INVALID_ARGUMENT),
    (errors.Unauthenticated("no"), grpc.StatusCode.UNAUTHENTICATED),
    (errors.NotFound("gone"), grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists("dup"), grpc.StatusCode.ALREADY_EXISTS),
    (errors.Unavailable("down"), grpc.StatusCode.UNAVAILABLE),
    (errors.ChartsnapError("ours"), grpc.StatusCode.INTERNAL),
    (UnsupportedMediaType("xml"), grpc.StatusCode.INTERNAL),  # handled by the gateway itself, as 415
])
def test_grpc_code_for(exc, code):
    assert status_table.grpc_code_for(exc) is code


def test_grpc_code_for_subclasses_follows_the_mro():
    class ChartMissing(errors.NotFound):
        pass

    assert status_table.grpc_code_for(ChartMissing("x")) is grpc.StatusCode.NOT_FOUND


# -- gRPC code → HTTP ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, http", [
    (grpc.StatusCode.OK, 200),
    (grpc.StatusCode.INVALID_ARGUMENT, 400),
    (grpc.StatusCode.OUT_OF_RANGE, 400),
    (grpc.StatusCode.FAILED_PRECONDITION, 400),
    (grpc.StatusCode.UNAUTHENTICATED, 401),
    (grpc.StatusCode.PERMISSION_DENIED, 404),
    (grpc.StatusCode.NOT_FOUND, 404),
    (grpc.StatusCode.ALREADY_EXISTS, 422),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    (grpc.StatusCode.UNAVAILABLE, 503),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 503),
    (grpc.StatusCode.ABORTED, 503),
    (grpc.StatusCode.CANCELLED, 503),
    (grpc.StatusCode.INTERNAL, 500),
    (grpc.StatusCode.UNKNOWN, 500),
    (grpc.StatusCode.UNIMPLEMENTED, 500),
    (grpc.StatusCode.DATA_LOSS, 500),
])
def test_http_status_for(code, http):
    assert error_replies.http_status_for(code) == http


# -- to_grpc_status ---------------------------------------------------------------------------------------

def _rich(status: grpc.Status) -> status_pb2.Status:
    (key, value), = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    return status_pb2.Status.FromString(value)


def test_to_grpc_status_invalid_params_carries_bad_request():
    status = status_table.to_grpc_status(errors.InvalidParams({"duration": ["too long", "odd"], "width": ["small"]}))
    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "duration too long, odd; width small"
    rich = _rich(status)
    assert rich.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    (detail,) = rich.details
    bad = error_details_pb2.BadRequest()
    assert detail.Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("duration", "too long"), ("duration", "odd"), ("width", "small")]


def test_to_grpc_status_unavailable_carries_retry_info():
    status = status_table.to_grpc_status(errors.Unavailable("queue down", retry_after=12))
    assert status.code is grpc.StatusCode.UNAVAILABLE and status.details == "queue down"
    (detail,) = _rich(status).details
    info = error_details_pb2.RetryInfo()
    assert detail.Unpack(info) and info.retry_delay.seconds == 12


def test_to_grpc_status_plain_error_has_no_details():
    status = status_table.to_grpc_status(errors.NotFound("chart not found"))
    assert status.code is grpc.StatusCode.NOT_FOUND and status.details == "chart not found"
    assert list(_rich(status).details) == []


# -- round trip: domain error → grpc.Status → RpcError → HTTP reply ----------------------------------------

def test_round_trip_invalid_params_gives_contract_params_body():
    reply = _round_trip(errors.InvalidParams({"duration": ["must be a positive integer"],
                                              "subject": ["chart 9 does not exist"]}))
    assert reply == error_replies.ErrorReply(
        400, {"errors": {"params": {"duration": ["must be a positive integer"],
                                    "subject": ["chart 9 does not exist"]}}}, None)


def test_round_trip_invalid_request():
    assert _round_trip(errors.InvalidRequest("Malformed JSON body")) == error_replies.ErrorReply(
        400, {"errors": {"request": ["Malformed JSON body"]}}, None)


def test_round_trip_not_found():
    assert _round_trip(errors.NotFound("snapshot not found")) == error_replies.ErrorReply(
        404, {"errors": {"request": ["snapshot not found"]}}, None)


def test_round_trip_already_exists_is_422():
    assert _round_trip(errors.AlreadyExists("a space named 'x' already exists")) == error_replies.ErrorReply(
        422, {"errors": {"request": ["a space named 'x' already exists"]}}, None)


def test_round_trip_unauthenticated_hides_the_reason():
    assert _round_trip(errors.Unauthenticated("no such e-mail alice@example.com")) == error_replies.ErrorReply(
        401, {"errors": {"request": ["Authorization failed"]}}, None)


def test_round_trip_unavailable_gets_retry_after_from_retry_info():
    reply = _round_trip(errors.Unavailable("NATS is down", retry_after=17))
    assert reply.http_status == 503 and reply.retry_after == 17
    assert reply.body == {"errors": {"system": ["Service temporarily unavailable, retry later"]}}
    assert "NATS" not in str(reply.body)  # internals are not shown


def test_round_trip_unavailable_retry_after_is_at_least_one():
    assert _round_trip(errors.Unavailable("down", retry_after=0)).retry_after == 1


def test_round_trip_our_own_fault_is_500_system():
    reply = _round_trip(errors.ChartsnapError("database file is locked at /var/lib/x.db"))
    assert reply == error_replies.ErrorReply(500, {"errors": {"system": ["Internal error"]}}, None)


# -- replies from RPC failures that carry no rich status ---------------------------------------------------

@pytest.mark.parametrize("metadata", [None, (), (("other-key", "v"),)])
def test_plain_rpc_error_without_rich_status(metadata):
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.NOT_FOUND, "chart not found", metadata))
    assert reply == error_replies.ErrorReply(404, {"errors": {"request": ["chart not found"]}}, None)


def test_deadline_exceeded_is_503_with_default_retry_after():
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    assert reply == error_replies.ErrorReply(
        503, {"errors": {"system": ["Service temporarily unavailable, retry later"]}}, 5)


def test_unavailable_without_retry_info_defaults_to_five_seconds():
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connect failed"))
    assert (reply.http_status, reply.retry_after) == (503, 5)


def test_resource_exhausted_is_429_with_retry_after():
    details = "Received message larger than max (4424328 vs. 4194304)"
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, details))
    assert reply == error_replies.ErrorReply(429, {"errors": {"request": ["Too many requests, retry later"]}}, 5)


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED])
def test_other_503_codes_still_get_retry_after(code):
    reply = error_replies.error_reply_from_rpc(FakeRpcError(code, "x"))
    assert reply.http_status == 503 and reply.retry_after == 5 and "system" in reply.body["errors"]


@pytest.mark.parametrize("code", [grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED])
def test_unknown_codes_are_500_without_leaking_details(code):
    reply = error_replies.error_reply_from_rpc(FakeRpcError(code, "Traceback (most recent call last): ..."))
    assert reply == error_replies.ErrorReply(500, {"errors": {"system": ["Internal error"]}}, None)


def test_missing_details_fall_back_to_the_code_name():
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.NOT_FOUND, None))
    assert reply.body == {"errors": {"request": ["not_found"]}}


def test_permission_denied_looks_like_not_found():
    reply = error_replies.error_reply_from_rpc(FakeRpcError(grpc.StatusCode.PERMISSION_DENIED, "not yours"))
    assert reply.http_status == 404


def test_rich_status_from_another_grpc_server_is_read_too():
    """Field violations from any server using the standard rich error model become params errors."""
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field="name", description="is taken")
    detail = any_pb2.Any()
    detail.Pack(bad)
    status = rpc_status.to_status(status_pb2.Status(code=grpc.StatusCode.FAILED_PRECONDITION.value[0],
                                                    message="nope", details=[detail]))
    reply = error_replies.error_reply_from_rpc(FakeRpcError.from_status(status))
    assert reply == error_replies.ErrorReply(400, {"errors": {"params": {"name": ["is taken"]}}}, None)


# -- error_reply_for: a domain error the gateway finds itself --------------------------------------

@pytest.mark.parametrize("exc", [
    errors.InvalidParams({"duration": ["too long"]}),
    errors.InvalidRequest("Malformed JSON body"),
    errors.NotFound("snapshot not found"),
    errors.AlreadyExists("a space named 'x' already exists"),
    errors.Unauthenticated("Authorization failed"),
    errors.Unavailable("queue down", retry_after=12),
])
def test_gateway_renders_its_own_errors_as_the_services_would(exc):
    assert error_replies.error_reply_for(exc) == _round_trip(exc)


def test_unsupported_media_type_is_415():
    reply = error_replies.error_reply_for(UnsupportedMediaType("Unsupported content type 'text/xml'"))
    assert reply == error_replies.ErrorReply(415, {"errors": {"request": ["Unsupported content type 'text/xml'"]}})
