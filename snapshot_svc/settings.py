"""Settings of the snapshot service, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.settings import EnvReader

# What the render worker may spend between two deliveries of one request: its
# largest retry backoff (30 s), which also covers its ack wait (15 s) after a
# crash. Part of the render budget below.
RENDER_REDELIVERY_ALLOWANCE = 30.0
# Time a notifier may hold a delivery beyond its retry budget: up to two ack
# waits (30 s each) when a notifier dies holding it.
NOTIFIER_REDELIVERY_ALLOWANCE = 60.0
JOB_DEADLINE_MARGIN = 2.0  # headroom for queueing behind other jobs


def render_budget(render_timeout: float, render_max_attempts: int) -> float:
    """Longest a render request can be in play: the render consumer delivers it
    up to attempts + 2 times, each an attempt plus the wait before the next."""
    return (render_max_attempts + 2) * (render_timeout + RENDER_REDELIVERY_ALLOWANCE)


def default_delivery_deadline(notify_max_total_seconds: float) -> float:
    """How long a delivery may stay without a result after it was queued."""
    return 2 * notify_max_total_seconds + NOTIFIER_REDELIVERY_ALLOWANCE


def default_job_deadline(render_timeout: float, render_max_attempts: int, delivery_deadline: float) -> float:
    """Every accepted snapshot's job is terminal this long after its creation."""
    return JOB_DEADLINE_MARGIN * (render_budget(render_timeout, render_max_attempts) + delivery_deadline)


@dataclass(frozen=True)
class JobBounds:
    """How long a job may take, enforced by the snapshot service's sweeper (seconds)."""

    job_deadline: float = default_job_deadline(10.0, 4, default_delivery_deadline(60.0))  # from creation
    delivery_deadline: float = default_delivery_deadline(60.0)  # from queueing a delivery to its result
    lost_request_grace: float = 30.0  # a request gone from its stream this long without a result is lost
    sweep_interval: float = 5.0


@dataclass(frozen=True)
class SnapshotSettings:
    listen_addr: str
    database_url: str
    nats_url: str
    image_base_url: str
    public_url: str          # the gateway's public base, for links in delivered messages
    db_threads: int          # threads running database work
    metrics_addr: str = "127.0.0.1:9101"  # Prometheus /metrics (host:port; port 0 picks one)
    bounds: JobBounds = JobBounds()

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
            bounds=job_bounds_from(env),
        )
        env.finish()
        return settings


def job_bounds_from(env: EnvReader) -> JobBounds:
    """The job deadline is derived from the same variables the render service
    and the notifier read for their own budgets, unless set outright."""
    render_timeout = env.float("RENDER_TIMEOUT", 10.0, lo=1.0)
    render_max_attempts = env.int("RENDER_MAX_ATTEMPTS", 4, lo=1, hi=20)
    notify_total = env.float("NOTIFY_MAX_TOTAL_SECONDS", 60.0, lo=0.0)
    delivery_deadline = env.float("DELIVERY_DEADLINE", default_delivery_deadline(notify_total), lo=1.0)
    return JobBounds(
        job_deadline=env.float(
            "JOB_DEADLINE", default_job_deadline(render_timeout, render_max_attempts, delivery_deadline), lo=1.0),
        delivery_deadline=delivery_deadline,
        lost_request_grace=env.float("LOST_REQUEST_GRACE", 30.0, lo=0.1),
        sweep_interval=env.float("SWEEP_INTERVAL", 5.0, lo=0.1),
    )
