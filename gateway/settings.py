"""Settings of the gateway, read once from CHARTSNAP_* variables."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from chartsnap.settings import DEFAULT_RPC_TIMEOUT_S, EnvReader, default_drain_timeout, is_host_port, split_host_port

# `dns:///name:port` or `dns://resolver/name:port`: gRPC resolves the name and
# balances over every address it gets (a Kubernetes headless Service's pods).
DNS_TARGET = re.compile(r"^dns:(//[^/]*/)?(?P<name>.+)$")


@dataclass(frozen=True)
class GatewaySettings:
    listen_addr: str
    public_url: str          # base of every href we hand out
    snapshot_addr: str       # gRPC target of the snapshot service's replicas (see snapshot_target)
    rpc_timeout: float       # deadline of every gRPC call, seconds
    max_body_bytes: int
    metrics_addr: str        # Prometheus /metrics, on its own address (not the public port)
    rate_limit: int          # requests per account per minute; 0: no limit
    auth_failure_limit: int  # failed authentications per client address per minute; 0: no limit
    # Seconds from SIGTERM to exit (CHARTSNAP_GATEWAY_DRAIN_TIMEOUT): requests in
    # flight finish (each makes one gRPC call, bounded by rpc_timeout), then the close.
    drain_timeout: float = default_drain_timeout(DEFAULT_RPC_TIMEOUT_S)

    @property
    def host(self) -> str:
        return split_host_port(self.listen_addr)[0]

    @property
    def port(self) -> int:
        return split_host_port(self.listen_addr)[1]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "GatewaySettings":
        env = EnvReader(environ)
        listen = env.address("GATEWAY_ADDR", "127.0.0.1:8080")
        rpc_timeout = env.float("RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT_S, lo=0.1)
        settings = cls(
            listen_addr=listen,
            public_url=env.url("PUBLIC_URL", f"http://{listen}"),
            snapshot_addr=snapshot_target(env),
            rpc_timeout=rpc_timeout,
            max_body_bytes=env.int("MAX_BODY_BYTES", 1_048_576, lo=1024),
            metrics_addr=env.address("GATEWAY_METRICS_ADDR", "127.0.0.1:9100"),
            # 100 a second sustained, with a minute's worth as burst: a client
            # batching its samples never meets it; a runaway loop does.
            rate_limit=env.int("RATE_LIMIT", 6000, lo=0),
            auth_failure_limit=env.int("AUTH_FAILURE_LIMIT", 30, lo=0),
            drain_timeout=env.drain_timeout("GATEWAY_DRAIN_TIMEOUT", rpc_timeout),
        )
        env.finish()
        return settings


def snapshot_target(env: EnvReader) -> str:
    """CHARTSNAP_SNAPSHOT_ADDR as a gRPC channel target. One host:port is used
    as it is (a DNS name resolving to several addresses is balanced over all);
    several, comma-separated, must be IP addresses and become `ipv4:a,b`
    (or `ipv6:`); `dns:///name:port` is passed through."""
    raw = env.str("SNAPSHOT_ADDR", "127.0.0.1:50051")
    dns = DNS_TARGET.match(raw)
    if dns:
        if not is_host_port(dns.group("name")):
            env.problems.append(f"{env.PREFIX}SNAPSHOT_ADDR={raw!r}: {dns.group('name')!r} is not host:port")
        return raw
    addresses = env.addresses("SNAPSHOT_ADDR", raw)
    if len(addresses) <= 1:
        return raw
    families = set()
    for address in addresses:
        try:
            families.add(ipaddress.ip_address(address.rpartition(":")[0].strip("[]")).version)
        except ValueError:
            env.problems.append(f"{env.PREFIX}SNAPSHOT_ADDR: {address!r} in a list must be an IP address "
                                "(for a DNS name use dns:///name:port)")
    if len(families) > 1:
        env.problems.append(f"{env.PREFIX}SNAPSHOT_ADDR mixes IPv4 and IPv6 addresses")
    return f"ipv{families.pop() if len(families) == 1 else 4}:{','.join(addresses)}"
