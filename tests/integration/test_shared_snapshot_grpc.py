"""GetSharedSnapshot for gRPC callers, the share page's one call: the snapshot
service started by its factory on real NATS, on SQLite and on PostgreSQL. It
needs no credentials (the token is the permission); a malformed token is
NOT_FOUND exactly like an unknown one, whoever calls (the gateway checks the
form first, but the service does not rely on it); the snapshot's facts come
back with the chart's name as it was when taken."""

from __future__ import annotations

import grpc
import pytest

from chartsnap.basic_auth import basic_header
from chartsnap.image_keys import new_image_key, share_token
from chartsnap.v1 import snapshots_pb2, snapshots_pb2_grpc
from snapshot_svc.accounts import AccountStore
from snapshot_svc.charts import SpaceStore
from snapshot_svc.server import start_snapshot_service
from snapshot_svc.settings import SnapshotSettings
from tests.databases import migrated_engine

pytestmark = [pytest.mark.timeout(60)]

RPC_TIMEOUT = 10
SharedSnapshot = snapshots_pb2.SharedSnapshot


@pytest.fixture
async def service(infra, js, database_url: str):  # noqa: ANN001, ANN201
    engine = migrated_engine(database_url)
    account, token = AccountStore(engine).create("share-grpc@example.com", "Grace Hopper")
    spaces = SpaceStore(engine)
    chart = spaces.create_chart(account.id, spaces.create_space(account.id, "s")["id"],
                                {"name": "Queue <depth>", "streams": [{"metric": "m"}]})
    started = await start_snapshot_service(SnapshotSettings(
        listen_addr="127.0.0.1:0", database_url=database_url, nats=infra.nats_settings(infra.nats_admin_login),
        image_base_url="http://127.0.0.1:9/images", public_url="http://127.0.0.1:8080", db_threads=16,
        metrics_addr="127.0.0.1:0"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{started.port}")
    stub = snapshots_pb2_grpc.SnapshotServiceStub(channel)
    created = await stub.CreateSnapshot(
        snapshots_pb2.CreateSnapshotRequest(subject=snapshots_pb2.SnapshotSubject(chart_id=chart["id"],
                                                                                  chart_type="line"),
                                            message="look"),
        metadata=(("authorization", basic_header(account.email, token)),), timeout=RPC_TIMEOUT)
    # Renamed after it was taken: the share page keeps the name it had.
    spaces.update_chart(account.id, chart["space_id"], chart["id"], {"name": "Renamed"})
    yield stub, created
    await channel.close()
    await started.stop(grace=1.0)
    engine.dispose()


async def test_the_token_alone_answers_the_snapshot(service) -> None:  # noqa: ANN001
    stub, created = service
    assert created.share_token and created.share_token.endswith(f"-{created.id}")
    shared = await stub.GetSharedSnapshot(snapshots_pb2.GetSharedSnapshotRequest(token=created.share_token),
                                          timeout=RPC_TIMEOUT)  # no metadata at all
    assert shared.token == created.share_token
    assert shared.state in (SharedSnapshot.PENDING, SharedSnapshot.FAILED)  # no render service here
    assert shared.image_url == ""  # nothing to show before it is drawn
    assert (shared.chart_name, shared.chart_id, shared.chart_type) == ("Queue <depth>", created.chart_id, "line")
    assert (shared.taken_by_name, shared.message) == ("Grace Hopper", "look")
    assert "share-grpc@example.com" not in str(shared), "the page is public: never the account's e-mail"
    assert (shared.width, shared.height, shared.duration) == (created.width, created.height, created.duration)
    assert shared.end_time == created.end_time and shared.created_at == created.created_at


@pytest.mark.parametrize("token", ["", "1", "chart/x.png", "' OR 1=1 --", "A" * 10_000])
async def test_a_malformed_token_is_not_found(service, token: str) -> None:  # noqa: ANN001
    stub, _ = service
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetSharedSnapshot(snapshots_pb2.GetSharedSnapshotRequest(token=token), timeout=RPC_TIMEOUT)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "snapshot not found"


async def test_a_well_formed_unknown_token_is_not_found_alike(service) -> None:  # noqa: ANN001
    stub, created = service
    for token in (share_token(new_image_key(created.id)), share_token(new_image_key(created.id + 1))):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetSharedSnapshot(snapshots_pb2.GetSharedSnapshotRequest(token=token), timeout=RPC_TIMEOUT)
        assert (raised.value.code(), raised.value.details()) == (grpc.StatusCode.NOT_FOUND, "snapshot not found")
