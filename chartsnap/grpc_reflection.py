"""gRPC server reflection on every server, so grpcurl and other tools list
and describe the services with no .proto files at hand.

What a server lists is what its health service reports on: by the gRPC
health convention each name there is the full name of a service the server
serves (snapshot_svc's chartsnap.v1.SnapshotService, ...). Names that are not
services in the descriptor pool (the workers' health names, such as
chartsnap.v1.RenderWorker) are left out; the health and reflection services
are always in. Names are read at each request, so a server whose services
are marked serving after start lists them from then on.

Descriptors come from the process's default pool, as the generated modules
registered them."""

from __future__ import annotations

from typing import AsyncIterable, AsyncIterator, Callable, Iterable

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

ALWAYS_LISTED = (health.SERVICE_NAME, reflection.SERVICE_NAME)


class HealthNamedReflection(reflection_pb2_grpc.ServerReflectionServicer):
    """Answers ListServices from `health_names()`; every other question (file
    by name, file containing a symbol, ...) as grpc_reflection does."""

    def __init__(self, health_names: Callable[[], Iterable[str]]) -> None:
        self._health_names = health_names
        self._pool = descriptor_pool.Default()
        self._descriptors = reflection.aio.ReflectionServicer(ALWAYS_LISTED)

    def listed(self) -> list[str]:
        return sorted({*ALWAYS_LISTED, *(name for name in self._health_names() if self._is_service(name))})

    def _is_service(self, name: str) -> bool:
        try:
            self._pool.FindServiceByName(name)
        except KeyError:
            return False
        return True

    async def ServerReflectionInfo(  # noqa: N802 (the generated servicer's name)
        self, request_iterator: AsyncIterable[reflection_pb2.ServerReflectionRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
        async for request in request_iterator:
            if request.HasField("list_services"):
                yield reflection_pb2.ServerReflectionResponse(
                    original_request=request,
                    list_services_response=reflection_pb2.ListServiceResponse(
                        service=[reflection_pb2.ServiceResponse(name=name) for name in self.listed()]))
            else:
                async for reply in self._descriptors.ServerReflectionInfo(_one(request), context):
                    yield reply


async def _one(request: reflection_pb2.ServerReflectionRequest) -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
    yield request


def add_reflection(server: grpc.aio.Server, health_servicer: health.aio.HealthServicer) -> HealthNamedReflection:
    """Serve reflection on `server`, listing what `health_servicer` reports on.

    grpc_health keeps its names in `_server_status` and has no public way to
    read them; tests/unit/test_grpc_reflection.py fails if that changes."""
    servicer = HealthNamedReflection(lambda: list(health_servicer._server_status))
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    return servicer
