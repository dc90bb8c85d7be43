"""What `make run` reads from CHARTSNAP_* variables: the data dir, the ports
of the first replica of each service and of the first NATS node, the S3 keys,
how many replicas of each service (CHARTSNAP_REPLICAS) and how many NATS nodes
(CHARTSNAP_NATS_NODES). Every other CHARTSNAP_* variable set passes through
to the services, winning over the stack's defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chartsnap.settings import EnvReader
from devstack import nats_cluster
from devstack.processes import S3Credentials, Stack, StackPorts
from devstack.replicas import MAX_REPLICAS


@dataclass(frozen=True)
class DevstackSettings:
    data_dir: Path
    ports: StackPorts
    creds: S3Credentials
    replicas: int
    nats_nodes: int
    overrides: dict[str, str] = field(default_factory=dict, repr=False)  # holds secrets

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "DevstackSettings":
        """Raises SettingsError naming every bad variable."""
        environ = dict(os.environ if environ is None else environ)
        env = EnvReader(environ)
        ports = StackPorts(
            nats=env.int("NATS_PORT", 4222, lo=1, hi=65535),
            s3=env.int("S3_PORT", 9000, lo=1, hi=65535),
            snapshot=port_of(env, "SNAPSHOT_ADDR", "127.0.0.1:50051"),
            render_health=port_of(env, "RENDER_HEALTH_ADDR", "127.0.0.1:50052"),
            gateway=port_of(env, "GATEWAY_ADDR", "127.0.0.1:8080"),
            notifier_health=port_of(env, "NOTIFIER_HEALTH_ADDR", "127.0.0.1:50053"),
        )
        s3 = env.s3()
        settings = cls(
            data_dir=env.data_dir(),
            ports=ports,
            creds=S3Credentials(s3.access_key, s3.secret_key),
            replicas=env.int("REPLICAS", 1, lo=1, hi=MAX_REPLICAS),
            nats_nodes=env.choice("NATS_NODES", 1, nats_cluster.NODE_COUNTS),
            overrides={k: v for k, v in environ.items() if k.startswith(EnvReader.PREFIX)},
        )
        env.finish()
        return settings

    def stack(self) -> Stack:
        return Stack(self.data_dir, self.ports, self.creds, extra_env=dict(self.overrides),
                     replicas=self.replicas, nats_nodes=self.nats_nodes)


def port_of(env: EnvReader, name: str, default: str) -> int:
    """The port of a host:port variable (0 when malformed: env has noted the problem)."""
    port = env.address(name, default).rpartition(":")[2]
    return int(port) if port.isdigit() else 0
