"""Settings of the gateway, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.settings import EnvReader


@dataclass(frozen=True)
class GatewaySettings:
    listen_addr: str
    public_url: str          # base of every href we hand out
    snapshot_addr: str       # the snapshot service's gRPC address
    rpc_timeout: float       # deadline of every gRPC call, seconds
    max_body_bytes: int
    metrics_addr: str        # Prometheus /metrics, on its own address (not the public port)
    rate_limit: int          # requests per account per minute; 0: no limit
    auth_failure_limit: int  # failed authentications per client address per minute; 0: no limit

    @property
    def host(self) -> str:
        return self.listen_addr.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen_addr.rpartition(":")[2])

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "GatewaySettings":
        env = EnvReader(environ)
        listen = env.address("GATEWAY_ADDR", "127.0.0.1:8080")
        settings = cls(
            listen_addr=listen,
            public_url=env.url("PUBLIC_URL", f"http://{listen}"),
            snapshot_addr=env.address("SNAPSHOT_ADDR", "127.0.0.1:50051"),
            rpc_timeout=env.float("RPC_TIMEOUT", 10.0, lo=0.1),
            max_body_bytes=env.int("MAX_BODY_BYTES", 1_048_576, lo=1024),
            metrics_addr=env.address("GATEWAY_METRICS_ADDR", "127.0.0.1:9100"),
            # 100 a second sustained, with a minute's worth as burst: a client
            # batching its samples never meets it; a runaway loop does.
            rate_limit=env.int("RATE_LIMIT", 6000, lo=0),
            auth_failure_limit=env.int("AUTH_FAILURE_LIMIT", 30, lo=0),
        )
        env.finish()
        return settings
