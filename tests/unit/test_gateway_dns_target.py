"""The gateway's channel to the snapshot service through a DNS name, as a
Kubernetes headless Service gives it (CHARTSNAP_SNAPSHOT_ADDR=
dns:///snapshot-svc-headless:50051): the name resolves to every ready pod's
address, and the gateway's channel (start_gateway, CHANNEL_OPTIONS: round
robin) spreads its calls over all of them.

A small DNS server of the test's own answers the name with two loopback
addresses (127.0.0.1 and 127.0.0.2), each with a real gRPC server on the
same port; the target names that resolver (`dns://127.0.0.1:<port>/name:port`),
since the machine's own resolver cannot be told about the name. The
`dns:///` form (the system's resolver) is checked with `localhost`."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chartsnap.grpc_server import add_health, mark_serving
from gateway.server import start_gateway
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.timeout(60)

HEADLESS_NAME = "snapshot-svc-headless.chartsnap.svc.cluster.local"
POD_ADDRESSES = ("127.0.0.1", "127.0.0.2")
CALLS = 20
RPC_TIMEOUT = 5.0
TYPE_A, CLASS_IN = 1, 1


class HeadlessServiceDns(asyncio.DatagramProtocol):
    """Answers A queries for one name with several addresses (a headless
    Service's records); any other query with no answer."""

    def __init__(self, name: str, addresses: tuple[str, ...]) -> None:
        self.name, self.addresses = name.lower(), addresses
        self.transport: asyncio.DatagramTransport | None = None
        self.asked: Counter[str] = Counter()

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        query_id, _flags, questions = struct.unpack("!HHH", data[:6])
        if questions != 1:
            return
        labels, at = [], 12
        while data[at]:
            labels.append(data[at + 1:at + 1 + data[at]].decode().lower())
            at += 1 + data[at]
        qtype, qclass = struct.unpack("!HH", data[at + 1:at + 5])
        question = data[12:at + 5]
        name = ".".join(labels)
        self.asked[name] += 1
        answers = self.addresses if (name, qtype, qclass) == (self.name, TYPE_A, CLASS_IN) else ()
        reply = struct.pack("!HHHHHH", query_id, 0x8180, 1, len(answers), 0, 0) + question
        for address in answers:   # name: a pointer to the question's (offset 12); TTL 5 s
            reply += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, 5, 4) + socket.inet_aton(address)
        assert self.transport is not None
        self.transport.sendto(reply, addr)


class CountingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, counts: Counter, name: str) -> None:
        self.counts, self.name = counts, name

    async def intercept_service(self, continuation, handler_call_details):  # noqa: ANN001
        self.counts[self.name] += 1
        return await continuation(handler_call_details)


async def health_servers(port: int, counts: Counter) -> tuple[list[grpc.aio.Server], int]:
    """One gRPC server with the health service per pod address, all on one
    port (the first binds port 0 when `port` is 0)."""
    servers = []
    for address in POD_ADDRESSES:
        server = grpc.aio.server(interceptors=[CountingInterceptor(counts, address)])
        health = add_health(server)
        port = server.add_insecure_port(f"{address}:{port}")
        assert port, f"could not bind {address}"
        await server.start()
        await mark_serving(health, [])
        servers.append(server)
    return servers, port


async def check_through_the_gateways_channel(snapshot_addr: str, calls: int, counts: Counter,
                                             warm_up_until: int = 1) -> Counter:
    """`calls` health checks through the channel start_gateway builds, once
    `warm_up_until` servers have answered one (the channel connects to each
    address on first use; round robin sends only to connected ones); the
    calls each server answered."""
    settings = GatewaySettings.from_env({"CHARTSNAP_SNAPSHOT_ADDR": snapshot_addr,
                                         "CHARTSNAP_GATEWAY_ADDR": "127.0.0.1:0",
                                         "CHARTSNAP_GATEWAY_METRICS_ADDR": "127.0.0.1:0"})
    assert settings.snapshot_addr == snapshot_addr
    gateway = await start_gateway(settings)
    try:
        stub = health_pb2_grpc.HealthStub(gateway.channel)

        async def check() -> None:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=RPC_TIMEOUT, wait_for_ready=True)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        deadline = asyncio.get_running_loop().time() + RPC_TIMEOUT
        while len(counts) < warm_up_until:
            await check()
            assert asyncio.get_running_loop().time() < deadline, f"not every address answers: {counts}"
        before = Counter(counts)
        for _ in range(calls):
            await check()
        return counts - before
    finally:
        await gateway.stop()


async def test_a_headless_services_name_spreads_the_gateways_calls_over_every_pod():
    loop = asyncio.get_running_loop()
    transport, dns = await loop.create_datagram_endpoint(lambda: HeadlessServiceDns(HEADLESS_NAME, POD_ADDRESSES),
                                                         local_addr=("127.0.0.1", 0))
    counts: Counter[str] = Counter()
    servers, port = await health_servers(0, counts)
    try:
        dns_port = transport.get_extra_info("sockname")[1]
        spread = await check_through_the_gateways_channel(f"dns://127.0.0.1:{dns_port}/{HEADLESS_NAME}:{port}",
                                                          CALLS, counts, warm_up_until=len(POD_ADDRESSES))
    finally:
        for server in servers:
            await server.stop(None)
        transport.close()
    assert dns.asked[HEADLESS_NAME] >= 1, dns.asked
    # Round robin over two READY addresses: half each, give or take one.
    assert sum(spread.values()) == CALLS and abs(spread["127.0.0.1"] - spread["127.0.0.2"]) <= 1, spread


async def test_the_system_resolvers_dns_target_reaches_the_service():
    counts: Counter[str] = Counter()
    server = grpc.aio.server(interceptors=[CountingInterceptor(counts, "localhost")])
    health = add_health(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await mark_serving(health, [])
    try:
        spread = await check_through_the_gateways_channel(f"dns:///localhost:{port}", 3, counts)
    finally:
        await server.stop(None)
    assert spread["localhost"] == 3
