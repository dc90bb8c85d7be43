"""What every gRPC service does the same way: turn domain errors into status
codes (through `status_table`), authenticate callers from metadata, register
the standard health service, and build servers that can bind port 0."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from chartsnap import errors
from chartsnap.basic_auth import parse_basic
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


def add_health(server: grpc.aio.Server) -> health.aio.HealthServicer:
    """The standard health service; mark_serving/mark_not_serving set what it answers."""
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
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
