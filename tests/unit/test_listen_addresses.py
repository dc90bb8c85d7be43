"""Every address a service listens on (gRPC, health, HTTP, /metrics) takes the
forms a Kubernetes manifest gives it: the pod's IPv4 address
(`$(POD_IP):9102` from the downward API), `0.0.0.0`, and IPv6 in brackets
(`[::]`, `[fd00::2]`); a bare IPv6 address, which cannot be told from its
port, is refused naming the variable. Then each kind of listener really
binds those forms on this machine and answers there."""

from __future__ import annotations

import socket
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from chartsnap.grpc_server import add_health, bind, mark_serving
from chartsnap.metrics import serve_metrics
from chartsnap.settings import SettingsError, is_host_port, split_host_port
from gateway.server import start_gateway
from gateway.settings import GatewaySettings
from notifier_svc.settings import NotifierSettings
from render_svc.settings import RenderSettings
from snapshot_svc.settings import SnapshotSettings

pytestmark = pytest.mark.timeout(60)

# (settings class, variable, the attribute it sets): every listening address.
LISTEN_ADDRESSES = [
    (GatewaySettings, "CHARTSNAP_GATEWAY_ADDR", "listen_addr"),
    (GatewaySettings, "CHARTSNAP_GATEWAY_METRICS_ADDR", "metrics_addr"),
    (SnapshotSettings, "CHARTSNAP_SNAPSHOT_ADDR", "listen_addr"),       # gRPC, its health service too
    (SnapshotSettings, "CHARTSNAP_SNAPSHOT_METRICS_ADDR", "metrics_addr"),
    (RenderSettings, "CHARTSNAP_RENDER_HEALTH_ADDR", "health_addr"),
    (RenderSettings, "CHARTSNAP_RENDER_METRICS_ADDR", "metrics_addr"),
    (NotifierSettings, "CHARTSNAP_NOTIFIER_HEALTH_ADDR", "health_addr"),
    (NotifierSettings, "CHARTSNAP_NOTIFIER_METRICS_ADDR", "metrics_addr"),
]
POD_FORMS = ["10.42.3.17:9102", "0.0.0.0:9102", "[::]:9102", "[fd00::2]:9102"]


@pytest.mark.parametrize("value", POD_FORMS)
@pytest.mark.parametrize(("settings_class", "variable", "attribute"), LISTEN_ADDRESSES)
def test_every_listening_address_takes_the_pod_address_forms(settings_class, variable, attribute, value):
    assert getattr(settings_class.from_env({variable: value}), attribute) == value


@pytest.mark.parametrize(("settings_class", "variable", "attribute"), LISTEN_ADDRESSES)
def test_a_bare_ipv6_address_is_refused_naming_the_variable(settings_class, variable, attribute):
    with pytest.raises(SettingsError, match=f"{variable}='fd00::2:9102' is not host:port"):
        settings_class.from_env({variable: "fd00::2:9102"})


@pytest.mark.parametrize(("address", "host", "port"), [
    ("10.42.3.17:9102", "10.42.3.17", 9102), ("0.0.0.0:0", "0.0.0.0", 0), ("[::]:9102", "::", 9102),
    ("[fd00::2]:50051", "fd00::2", 50051), ("snapshot-svc-headless:50051", "snapshot-svc-headless", 50051),
])
def test_split_host_port_gives_what_sockets_take(address, host, port):
    assert is_host_port(address)
    assert split_host_port(address) == (host, port)


def test_the_gateway_binds_an_ipv6_listen_address_without_its_brackets():
    settings = GatewaySettings.from_env({"CHARTSNAP_GATEWAY_ADDR": "[::]:8080"})
    assert (settings.host, settings.port) == ("::", 8080)


def machine_ipv4() -> str | None:
    """This machine's own non-loopback IPv4 address (a pod's POD_IP stands in
    for it): the source address of a route out; nothing is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def bind_forms() -> list[tuple[str, str]]:
    """(the address to listen on, the host to reach it at)."""
    forms = [("0.0.0.0", "127.0.0.1")]
    own = machine_ipv4()
    if own:
        forms.append((own, own))
    if has_ipv6():
        forms += [("[::]", "[::1]"), ("[::1]", "[::1]")]
    return forms


@pytest.mark.parametrize(("listen", "reach"), bind_forms())
def test_metrics_listen_on_each_form(listen, reach):
    server = serve_metrics(f"{listen}:0")
    try:
        with urllib.request.urlopen(f"http://{reach}:{server.port}/metrics", timeout=5) as reply:
            assert reply.status == 200 and b"python_info" in reply.read()
    finally:
        server.close()


@pytest.mark.parametrize(("listen", "reach"), bind_forms())
async def test_grpc_health_listens_on_each_form(listen, reach):
    server = grpc.aio.server()
    health = add_health(server)
    port = bind(server, f"{listen}:0")
    await server.start()
    try:
        await mark_serving(health, [])
        async with grpc.aio.insecure_channel(f"{reach}:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(None)


@pytest.mark.parametrize(("listen", "reach"), bind_forms())
async def test_the_gateway_and_its_metrics_listen_on_each_form(listen, reach):
    import aiohttp

    settings = GatewaySettings.from_env({"CHARTSNAP_GATEWAY_ADDR": f"{listen}:0",
                                         "CHARTSNAP_GATEWAY_METRICS_ADDR": f"{listen}:0",
                                         "CHARTSNAP_PUBLIC_URL": "http://chartsnap.example"})
    gateway = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{reach}:{gateway.port}/healthz",
                                   timeout=aiohttp.ClientTimeout(total=5)) as reply:
                assert reply.status == 200
            async with session.get(f"http://{reach}:{gateway.metrics.port}/metrics",
                                   timeout=aiohttp.ClientTimeout(total=5)) as reply:
                assert reply.status == 200
    finally:
        await gateway.stop()
