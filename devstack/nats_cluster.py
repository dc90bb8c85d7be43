"""NATS on one machine: one node (the default) or a three-node JetStream
cluster, and the nats-server configuration of each node.

A cluster's nodes are "nats", "nats-2", "nats-3": the first listens for
clients on CHARTSNAP_NATS_PORT, the others and every route and monitoring
port on free ports the stack chose once (a node the supervisor restarts comes
back with the same name, ports and store, so it rejoins). Each node keeps its
file store under <data dir>/nats/<name>, names itself (server_name, which
JetStream's Raft groups know it by) and carries the same `authorization`
block (chartsnap.nats_authorization) as a single node does. Routes log in
with a password of their own: a local process cannot join the cluster and
read every subject past the users' permissions.

A single node's configuration is what it always was (store <data dir>/nats)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chartsnap import nats_authorization
from chartsnap.budgets import JETSTREAM_ELECTION_BOUND_S

NODE_COUNTS = (1, 3)      # CHARTSNAP_NATS_NODES: one server, or a cluster that survives losing one
CLUSTER_NAME = "chartsnap"
ROUTE_USER = "chartsnap_route"   # the login nodes use on each other's route port
# A render request carries its chart's data; 8 MB (the server's ceiling)
# instead of the 1 MB default leaves room for big windows and many series.
MAX_PAYLOAD = "8MB"
# Seconds a Raft group (a stream, the meta group) may be leaderless after a node died.
ELECTION_BOUND = JETSTREAM_ELECTION_BOUND_S


@dataclass(frozen=True)
class NatsNode:
    name: str
    client_port: int
    route_port: int | None = None    # None: a single node, no cluster
    monitor_port: int | None = None  # HTTP /healthz and /jsz, cluster nodes only

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


def node_names(count: int) -> list[str]:
    return ["nats" if number == 1 else f"nats-{number}" for number in range(1, count + 1)]


def single_node_config(port: int, store: Path, passwords: dict[str, str]) -> str:
    return (f'listen: "127.0.0.1:{port}"\nmax_payload: {MAX_PAYLOAD}\njetstream {{ store_dir: "{store}" }}\n'
            + nats_authorization.authorization_block(nats_authorization.literal_password(passwords)))


def cluster_node_config(node: NatsNode, nodes: list[NatsNode], store: Path, passwords: dict[str, str],
                        route_password: str) -> str:
    routes = ", ".join(f'"nats-route://{ROUTE_USER}:{route_password}@127.0.0.1:{peer.route_port}"'
                       for peer in nodes)
    return (f'server_name: "{node.name}"\n'
            f'listen: "127.0.0.1:{node.client_port}"\n'
            f'http: "127.0.0.1:{node.monitor_port}"\n'
            f"max_payload: {MAX_PAYLOAD}\n"
            f'jetstream {{ store_dir: "{store}" }}\n'
            "cluster {\n"
            f'  name: "{CLUSTER_NAME}"\n'
            f'  listen: "127.0.0.1:{node.route_port}"\n'
            f'  authorization {{ user: "{ROUTE_USER}", password: "{route_password}" }}\n'
            f"  routes: [{routes}]\n"
            "}\n"
            + nats_authorization.authorization_block(nats_authorization.literal_password(passwords)))


def store_dir(data_dir: Path, node: NatsNode, clustered: bool) -> Path:
    return data_dir / "nats" / node.name if clustered else data_dir / "nats"


def config_path(data_dir: Path, node: NatsNode) -> Path:
    return data_dir / f"{node.name}.conf"


def _monitor_json(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1.0) as resp:
        return json.loads(resp.read())


def healthy(node: NatsNode) -> bool:
    """/healthz says ok: the node is up, in contact with a JetStream meta
    leader and current with it and with every stream it holds (so a restarted
    node is ready only once it has rejoined). Raises while it is not (503)."""
    return _monitor_json(node.monitor_port, "/healthz").get("status") == "ok"


def meta_leader(node: NatsNode) -> str | None:
    """The server name of the JetStream meta leader as `node` sees it."""
    return (_monitor_json(node.monitor_port, "/jsz").get("meta_cluster") or {}).get("leader") or None


def leaderless(node: NatsNode) -> list[str]:
    """What `node` knows of that has no leader yet: "meta" (the JetStream
    meta group) and the name of each stream it holds. A cluster restarted on
    its stores elects each stream's leader after the meta leader (about one
    election timeout each); until then the stream answers nothing."""
    jsz = _monitor_json(node.monitor_port, "/jsz?streams=true")
    missing = [] if (jsz.get("meta_cluster") or {}).get("leader") else ["meta"]
    for account in jsz.get("account_details") or ():
        missing += [s["name"] for s in account.get("stream_detail") or () if not (s.get("cluster") or {}).get("leader")]
    return missing
