"""Server reflection, as add_health adds it to every server: it lists the
services the health service reports on (and no worker's health name that is
not a service), and describes them from the descriptor pool, through a real
gRPC server on a free port."""

from __future__ import annotations

from typing import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from chartsnap.grpc_server import add_health, bind, mark_not_serving, mark_serving
from chartsnap.v1 import snapshots_pb2_grpc

pytestmark = pytest.mark.timeout(30)

HEALTH, REFLECTION = "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"
SNAPSHOTS = "chartsnap.v1.SnapshotService"
RPC_DEADLINE_S = 5.0


async def _ask(port: int, *requests: reflection_pb2.ServerReflectionRequest) -> list:
    async def stream() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        for request in requests:
            yield request

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        return [reply async for reply in stub.ServerReflectionInfo(stream(), timeout=RPC_DEADLINE_S)]


def _listed(reply: reflection_pb2.ServerReflectionResponse) -> list[str]:
    return [service.name for service in reply.list_services_response.service]


LIST = reflection_pb2.ServerReflectionRequest(list_services="")


@pytest.fixture
async def server():  # noqa: ANN201
    """A server as snapshot_svc builds one: its API service, then health."""
    server = grpc.aio.server()
    snapshots_pb2_grpc.add_SnapshotServiceServicer_to_server(snapshots_pb2_grpc.SnapshotServiceServicer(), server)
    health = add_health(server)
    port = bind(server, "127.0.0.1:0")
    await server.start()
    try:
        yield port, health
    finally:
        await server.stop(0)


async def test_lists_the_services_health_reports_on_and_leaves_out_worker_names(server) -> None:  # noqa: ANN001
    port, health = server
    [before] = await _ask(port, LIST)
    assert _listed(before) == [HEALTH, REFLECTION]  # nothing marked yet: nothing claimed
    await mark_serving(health, [SNAPSHOTS, "chartsnap.v1.RenderWorker"])
    [after] = await _ask(port, LIST)
    assert _listed(after) == sorted([SNAPSHOTS, HEALTH, REFLECTION])
    await mark_not_serving(health, [SNAPSHOTS])  # stopping: still served until the server goes
    [stopping] = await _ask(port, LIST)
    assert SNAPSHOTS in _listed(stopping)


async def test_describes_a_service_from_the_pool_with_its_dependencies(server) -> None:  # noqa: ANN001
    port, _ = server
    [reply] = await _ask(port, reflection_pb2.ServerReflectionRequest(file_containing_symbol=SNAPSHOTS))
    files = {}
    for raw in reply.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files[proto.name] = proto
    assert {"chartsnap/v1/snapshots.proto", "chartsnap/v1/common.proto",
            "google/protobuf/timestamp.proto"} <= set(files)
    service = next(s for s in files["chartsnap/v1/snapshots.proto"].service if s.name == "SnapshotService")
    assert {"CreateSnapshot", "GetSnapshot", "ListSnapshots", "GetJob"} <= {m.name for m in service.method}


async def test_several_questions_on_one_stream_and_an_unknown_symbol(server) -> None:  # noqa: ANN001
    port, _ = server
    listed, health_file, unknown = await _ask(
        port, LIST, reflection_pb2.ServerReflectionRequest(file_containing_symbol=HEALTH),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="chartsnap.v1.NoSuchService"))
    assert _listed(listed) == [HEALTH, REFLECTION]
    names = [descriptor_pb2.FileDescriptorProto.FromString(raw).name
             for raw in health_file.file_descriptor_response.file_descriptor_proto]
    assert "grpc_health/v1/health.proto" in names  # the name grpcio-health-checking registers
    assert unknown.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert unknown.original_request.file_containing_symbol == "chartsnap.v1.NoSuchService"
