"""What every gRPC service does the same way: turn domain errors into status
codes (through `status_table`), authenticate callers from metadata, carry the
caller's request id into the log context (`RequestIdInterceptor`), register
the standard health service, and build servers that can bind port 0."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from typing import Any, Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from chartsnap import errors, request_ids
from chartsnap.basic_auth import parse_basic
from chartsnap.grpc_reflection import add_reflection
from chartsnap.status_table import to_grpc_status

log = logging.getLogger(__name__)


def credentials_from(context: grpc.aio.ServicerContext) -> tuple[str, str]:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            creds = parse_basic(value if isinstance(value, str) else value.decode())
            if creds:
                return creds
    raise errors.Unauthenticated("Authorization failed")


async def abort_with(context: grpc.aio.ServicerContext, exc: errors.ChartsnapError) -> None:
    status = to_grpc_status(exc)
    await context.abort(status.code, status.details, status.trailing_metadata)


def domain_rpc(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a servicer method: domain errors become their status code; anything
    unexpected is logged here and answered INTERNAL without internals."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except errors.ChartsnapError as exc:
            await abort_with(context, exc)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception:
            log.exception("unexpected error in %s", method.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")

    return wrapper


class RequestIdInterceptor(grpc.aio.ServerInterceptor):
    """Every unary call runs with its request id bound in the log context: the
    caller's `x-request-id` metadata if sane (chartsnap.request_ids), else a
    new one, so the lines of a call made without the gateway still group."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        # Streaming calls (health Watch, reflection) are about no request.
        if handler is None or handler.unary_unary is None or not inspect.iscoroutinefunction(handler.unary_unary):
            return handler
        sent = next((value for key, value in handler_call_details.invocation_metadata or ()
                     if key == request_ids.GRPC_METADATA_KEY), None)
        inner = handler.unary_unary

        async def with_request_id(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with request_ids.bound(request_id=request_ids.from_client(sent)):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            with_request_id, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


def add_health(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """The standard health service; mark_serving/mark_not_serving set what it answers."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    add_reflection(server, servicer)  # every server that has health has reflection: grpcurl needs no .proto
    return servicer


async def mark_serving(servicer: Any, service_names: list[str]) -> None:
    for name in ["", *service_names]:
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


async def mark_not_serving(servicer: Any, service_names: list[str]) -> None:
    for name in ["", *service_names]:
        await servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)


# Replies like a week of measurements outgrow gRPC's 4 MB default; requests are
# bounded by the gateway's body limit long before this. Field errors are cut to
# chartsnap.bounds.MAX_RICH_STATUS_BYTES; the metadata limit is raised above
# gRPC's 8 KB anyway, so a reply near the bound is never turned into
# RESOURCE_EXHAUSTED by the transport.
MESSAGE_LIMITS = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
                  ("grpc.max_send_message_length", 64 * 1024 * 1024),
                  ("grpc.max_metadata_size", 32 * 1024)]


def bind(server: grpc.aio.Server, address: str) -> int:
    """Bind `host:port` (port 0 picks a free one) and return the port bound."""
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind gRPC server to {address}")
    return port
