"""The layout of a `make run` stack, read from CHARTSNAP_* without starting
anything: CHARTSNAP_REPLICAS gives each extra replica distinct free ports (the
first keeps the configured addresses), the gateway is told every snapshot
replica, CHARTSNAP_NATS_NODES=3 lists every node to the services and asks for
three copies of each stream; bad values fail fast naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from chartsnap.settings import SettingsError
from devstack import nats_cluster
from devstack.processes import Stack
from devstack.replicas import BOUND_ADDRESSES, MAX_REPLICAS, service_of
from devstack.settings import DevstackSettings
from gateway.settings import GatewaySettings

CONFIGURED = {"CHARTSNAP_SNAPSHOT_ADDR": "127.0.0.1:50051", "CHARTSNAP_SNAPSHOT_METRICS_ADDR": "127.0.0.1:9101",
              "CHARTSNAP_RENDER_HEALTH_ADDR": "127.0.0.1:50052", "CHARTSNAP_RENDER_METRICS_ADDR": "127.0.0.1:9102",
              "CHARTSNAP_NOTIFIER_HEALTH_ADDR": "127.0.0.1:50053", "CHARTSNAP_NOTIFIER_METRICS_ADDR": "127.0.0.1:9103"}


def stack_from(tmp_path: Path, **variables: str) -> Stack:
    return DevstackSettings.from_env({"CHARTSNAP_DATA_DIR": str(tmp_path),
                                      **{f"CHARTSNAP_{k}": v for k, v in variables.items()}}).stack()


def port(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_one_replica_and_one_node_by_default(tmp_path: Path) -> None:
    stack = stack_from(tmp_path)
    assert (stack.replicas, stack.nats_nodes) == (1, 1)
    for service in BOUND_ADDRESSES:
        assert stack.replica_names(service) == [service]
    assert stack.replica_names("gateway") == ["gateway"]
    assert stack.nats_node_names == ["nats"]
    assert stack.nats_url == "nats://127.0.0.1:4222"
    env = stack.service_env("snapshot_svc")
    assert {var: env[var] for var in CONFIGURED} == CONFIGURED
    assert env["CHARTSNAP_NATS_REPLICAS"] == "1"
    assert stack.service_env("gateway")["CHARTSNAP_SNAPSHOT_ADDR"] == "127.0.0.1:50051"


def test_two_replicas_get_distinct_free_ports_and_the_gateway_lists_every_snapshot_replica(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, REPLICAS="2")
    names = [name for service in BOUND_ADDRESSES for name in stack.replica_names(service)]
    assert names == ["snapshot_svc", "snapshot_svc-2", "render_svc", "render_svc-2", "notifier_svc", "notifier_svc-2"]
    bound: dict[int, str] = {}
    for name in names:
        env = stack.service_env(name)
        assert env["CHARTSNAP_NATS_USER"] == service_of(name)   # a replica logs in as its service
        for var in BOUND_ADDRESSES[service_of(name)]:
            if name == service_of(name):
                assert env[var] == CONFIGURED[var], "the first replica keeps the configured address"
            assert port(env[var]) not in bound, f"{name} {var} shares a port with {bound.get(port(env[var]))}"
            bound[port(env[var])] = f"{name} {var}"
    others = {port(stack.env[v]) for v in ("CHARTSNAP_GATEWAY_ADDR", "CHARTSNAP_GATEWAY_METRICS_ADDR")}
    assert others.isdisjoint(bound) and {stack.ports.nats, stack.ports.s3}.isdisjoint(bound)
    # Chosen once: asking again (as a restart does) gives the same ports.
    assert stack.service_env("render_svc-2") == stack.service_env("render_svc-2")
    gateway_env = stack.service_env("gateway")
    assert gateway_env["CHARTSNAP_SNAPSHOT_ADDR"] == ",".join(stack.snapshot_addrs)
    assert stack.snapshot_addrs == ["127.0.0.1:50051", stack.service_env("snapshot_svc-2")["CHARTSNAP_SNAPSHOT_ADDR"]]
    assert GatewaySettings.from_env(gateway_env).snapshot_addr == "ipv4:" + ",".join(stack.snapshot_addrs)


def test_a_replica_gets_a_tmpdir_and_log_of_its_own(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, REPLICAS="3")
    assert len({stack.tmp_dir(name) for name in stack.replica_names("render_svc")}) == 3


def test_three_nats_nodes_are_listed_to_every_service_with_three_copies_of_each_stream(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, NATS_NODES="3", NATS_PORT="4300")
    nodes = stack.nats_cluster_nodes
    assert [n.name for n in nodes] == stack.nats_node_names == ["nats", "nats-2", "nats-3"]
    assert nodes[0].client_port == 4300
    ports = [p for n in nodes for p in (n.client_port, n.route_port, n.monitor_port)]
    assert len(set(ports)) == len(ports) == 9
    assert stack.nats_cluster_nodes == nodes, "chosen once, kept for restarts"
    env = stack.service_env("render_svc")
    assert env["CHARTSNAP_NATS_URL"] == stack.nats_url == ",".join(f"nats://127.0.0.1:{n.client_port}" for n in nodes)
    assert env["CHARTSNAP_NATS_REPLICAS"] == "3"
    assert stack.nats_settings(stack.nats_admin_login).replicas == 3


def test_each_cluster_node_names_itself_routes_to_every_node_and_keeps_the_logins(tmp_path: Path) -> None:
    stack = stack_from(tmp_path, NATS_NODES="3")
    nodes = stack.nats_cluster_nodes
    store = nats_cluster.store_dir(tmp_path, nodes[1], clustered=True)
    config = nats_cluster.cluster_node_config(nodes[1], nodes, store, stack.nats_passwords,
                                              stack.nats_passwords[nats_cluster.ROUTE_USER])
    assert 'server_name: "nats-2"' in config and f'listen: "127.0.0.1:{nodes[1].client_port}"' in config
    assert store == tmp_path / "nats" / "nats-2" and f'store_dir: "{store}"' in config
    for node in nodes:
        assert f"@127.0.0.1:{node.route_port}" in config
    single = nats_cluster.single_node_config(4222, tmp_path / "nats", stack.nats_passwords)
    assert config.endswith(single[single.index("authorization {"):]), "the same authorization block as one node"
    assert "cluster {" not in single and "server_name" not in single


@pytest.mark.parametrize("variable, value, fragment", [
    ("REPLICAS", "0", f"CHARTSNAP_REPLICAS=0 must be within [1, {MAX_REPLICAS}]"),
    ("REPLICAS", "9", f"CHARTSNAP_REPLICAS=9 must be within [1, {MAX_REPLICAS}]"),
    ("REPLICAS", "two", "CHARTSNAP_REPLICAS='two' is not an integer"),
    ("NATS_NODES", "2", "CHARTSNAP_NATS_NODES=2 must be one of 1, 3"),
    ("NATS_NODES", "5", "CHARTSNAP_NATS_NODES=5 must be one of 1, 3"),
    ("SNAPSHOT_ADDR", "localhost", "CHARTSNAP_SNAPSHOT_ADDR='localhost' is not host:port"),
])
def test_bad_values_fail_fast_naming_the_variable(tmp_path: Path, variable: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        stack_from(tmp_path, **{variable: value})
    assert fragment in str(info.value)


def test_only_a_cluster_has_a_route_login(tmp_path: Path) -> None:
    from chartsnap import nats_authorization

    single = stack_from(tmp_path / "one")
    assert set(single.nats_passwords) == set(nats_authorization.USERS)
    cluster = stack_from(tmp_path / "three", NATS_NODES="3")
    assert set(cluster.nats_passwords) == {*nats_authorization.USERS, nats_cluster.ROUTE_USER}
    assert len(set(cluster.nats_passwords.values())) == len(cluster.nats_passwords)
    # The same data dir run as a cluster later keeps its users' passwords and adds the route's.
    again = stack_from(tmp_path / "one", NATS_NODES="3")
    assert {u: again.nats_passwords[u] for u in nats_authorization.USERS} == single.nats_passwords
