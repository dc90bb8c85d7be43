"""CreateSnapshotRequest.idempotency_key for gRPC callers: the snapshot
service started by its factory on real NATS, on SQLite and on PostgreSQL. A
retry answers the same snapshot and puts no second render request on the
stream; another request under the key is ALREADY_EXISTS; a bad key is
INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from chartsnap import queue
from chartsnap.basic_auth import basic_header
from chartsnap.v1 import snapshots_pb2, snapshots_pb2_grpc
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from tests.databases import migrated_engine
from snapshot_svc.server import start_snapshot_service
from snapshot_svc.settings import SnapshotSettings

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
async def api(infra, js, database_url: str):  # noqa: ANN001, ANN201
    url = database_url
    engine = migrated_engine(url)
    account, token = AccountStore(engine).create("grpc-idem@example.com")
    spaces = SpaceStore(engine)
    chart = spaces.create_chart(account.id, spaces.create_space(account.id, "s")["id"],
                                {"name": "c", "streams": [{"metric": "m"}]})
    service = await start_snapshot_service(SnapshotSettings(
        listen_addr="127.0.0.1:0", database_url=url, nats=infra.nats_settings(infra.nats_admin_login),
        image_base_url="http://127.0.0.1:9/images", public_url="http://127.0.0.1:8080", db_threads=16,
        metrics_addr="127.0.0.1:0"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    stub = snapshots_pb2_grpc.SnapshotServiceStub(channel)
    metadata = (("authorization", basic_header(account.email, token)),)

    async def create(**fields) -> snapshots_pb2.Snapshot:  # noqa: ANN003
        fields.setdefault("subject", snapshots_pb2.SnapshotSubject(chart_id=chart["id"], chart_type="line"))
        return await stub.CreateSnapshot(snapshots_pb2.CreateSnapshotRequest(**fields), metadata=metadata,
                                         timeout=10)
    yield create
    await channel.close()
    await service.stop(grace=1.0)


async def _render_requests(js, expected: int) -> int:  # noqa: ANN001
    """Messages on the render stream once publishing has settled (a publish runs in the background)."""
    for _ in range(50):
        count = (await js.stream_info(queue.RENDER_STREAM)).state.messages
        if count >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # time for a second copy, were one to come
    return (await js.stream_info(queue.RENDER_STREAM)).state.messages


async def test_a_retry_answers_the_same_snapshot_and_queues_nothing(api, js) -> None:  # noqa: ANN001
    first = await api(idempotency_key="grpc-1", duration=900)
    again = await api(idempotency_key="grpc-1", duration=900)
    assert (again.id, again.job_id) == (first.id, first.job_id)
    assert await _render_requests(js, 1) == 1
    other = await api(idempotency_key="grpc-2", duration=900)  # another key, another snapshot
    assert other.id != first.id
    assert await _render_requests(js, 2) == 2


async def test_another_request_under_the_key_is_already_exists(api) -> None:  # noqa: ANN001
    await api(idempotency_key="grpc-3", duration=900)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api(idempotency_key="grpc-3", duration=1800)
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert raised.value.details() == "Idempotency-Key reused with a different request"


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "line\nbreak"])
async def test_a_bad_key_is_invalid_argument_naming_it(api, js, key: str) -> None:  # noqa: ANN001
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api(idempotency_key=key)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["Idempotency-Key"]
    assert await _render_requests(js, 0) == 0
