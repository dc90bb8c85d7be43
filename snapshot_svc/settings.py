"""Settings of the snapshot service, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.settings import EnvReader


@dataclass(frozen=True)
class SnapshotSettings:
    listen_addr: str
    database_url: str
    nats_url: str
    image_base_url: str
    public_url: str          # the gateway's public base, for links in delivered messages
    db_threads: int          # threads running database work
    metrics_addr: str = "127.0.0.1:9101"  # Prometheus /metrics (host:port; port 0 picks one)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "SnapshotSettings":
        env = EnvReader(environ)
        data_dir = env.data_dir()
        settings = cls(
            listen_addr=env.address("SNAPSHOT_ADDR", "127.0.0.1:50051"),
            database_url=env.str("DATABASE_URL", f"sqlite:///{data_dir / 'chartsnap.db'}"),
            nats_url=env.url("NATS_URL", "nats://127.0.0.1:4222"),
            image_base_url=env.url("IMAGE_BASE_URL", "http://127.0.0.1:9000/chartsnap"),
            public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080"),
            db_threads=env.int("DB_THREADS", 16, lo=1, hi=256),
            metrics_addr=env.address("SNAPSHOT_METRICS_ADDR", "127.0.0.1:9101"),
        )
        env.finish()
        return settings
