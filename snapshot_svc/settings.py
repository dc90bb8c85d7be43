"""Settings of the snapshot service, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap import budgets
from chartsnap.settings import DEFAULT_RPC_TIMEOUT_S, EnvReader, NatsSettings, default_drain_timeout
from snapshot_svc.database import DEFAULT_DB_THREADS, DEFAULT_POOL_OVERFLOW, PoolSize
from snapshot_svc.rollup_rules import DAY, Retention

# The render service's and the notifier's budgets (chartsnap.budgets) are read
# from the same CHARTSNAP_* variables, so the snapshot service can hold every
# job to a deadline without asking them.
# What the render worker may spend between two deliveries of one request: its
# largest retry backoff (30 s), which also covers its ack wait (15 s) after a crash.
RENDER_REDELIVERY_ALLOWANCE = max(budgets.RENDER_RETRY_MAX_DELAY_S, budgets.RENDER_ACK_WAIT_S)
# Time a notifier may hold a delivery beyond its budget: up to two ack waits
# (30 s each) when a notifier dies holding it.
NOTIFIER_REDELIVERY_ALLOWANCE = 2 * budgets.NOTIFY_ACK_WAIT_S
JOB_DEADLINE_MARGIN = 2.0  # headroom for queueing behind other jobs


def render_budget(render_timeout: float = budgets.RENDER_TIMEOUT_S,
                  render_max_attempts: int = budgets.RENDER_MAX_ATTEMPTS,
                  render_total_budget: float = 0.0) -> float:
    """Longest a render request can be in play once taken: the render consumer
    delivers it up to attempts + 2 times, each an attempt plus the wait before
    the next; or, when the render service's own time budget
    (CHARTSNAP_RENDER_TOTAL_BUDGET) is longer, that budget plus a last attempt
    and two redeliveries."""
    by_deliveries = (render_max_attempts + 2) * (render_timeout + RENDER_REDELIVERY_ALLOWANCE)
    by_time = render_total_budget + render_timeout + 2 * RENDER_REDELIVERY_ALLOWANCE
    return max(by_deliveries, by_time)


def default_delivery_deadline(notify_max_total_seconds: float = budgets.NOTIFY_MAX_TOTAL_S,
                              notify_attempt_timeout: float = budgets.NOTIFY_ATTEMPT_TIMEOUT_S) -> float:
    """How long a delivery may stay without a result after it was queued: twice
    the notifier's budget (a last attempt may start just before it ends), plus
    two redeliveries."""
    return 2 * (notify_max_total_seconds + notify_attempt_timeout) + NOTIFIER_REDELIVERY_ALLOWANCE


def default_job_deadline(render: float = render_budget(), delivery_deadline: float = default_delivery_deadline()
                         ) -> float:
    """Every accepted snapshot's job is terminal this long after its creation."""
    return JOB_DEADLINE_MARGIN * (render + delivery_deadline)


@dataclass(frozen=True)
class JobBounds:
    """How long a job may take, enforced by the snapshot service's sweeper (seconds)."""

    job_deadline: float = default_job_deadline()  # from creation
    delivery_deadline: float = default_delivery_deadline()  # from queueing a delivery to its result
    lost_request_grace: float = 30.0  # a request gone from its stream this long without a result is lost
    sweep_interval: float = 5.0


@dataclass(frozen=True)
class SnapshotSettings:
    listen_addr: str
    database_url: str
    image_base_url: str
    public_url: str          # the gateway's public base, for links in delivered messages
    db_threads: int          # threads running database work
    pool: PoolSize = PoolSize()  # PostgreSQL connections: CHARTSNAP_DB_POOL_SIZE (= db_threads), _OVERFLOW
    metrics_addr: str = "127.0.0.1:9101"  # Prometheus /metrics (host:port; port 0 picks one)
    bounds: JobBounds = JobBounds()
    nats: NatsSettings = NatsSettings()  # CHARTSNAP_NATS_URL, _USER, _PASSWORD, _REPLICAS
    retention: Retention = Retention()  # CHARTSNAP_RAW_RETENTION_DAYS, _MINUTE_, _HOUR_, _DAY_ (retention_from)
    # Seconds from SIGTERM to exit (CHARTSNAP_SNAPSHOT_DRAIN_TIMEOUT): the gRPC
    # server's grace for calls in flight (the gateway's deadline on a call), then
    # the close. A call cut short loses nothing accepted: a snapshot is committed
    # before its job is published, and the sweeper publishes one left unpublished.
    drain_timeout: float = default_drain_timeout(DEFAULT_RPC_TIMEOUT_S)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "SnapshotSettings":
        env = EnvReader(environ)
        data_dir = env.data_dir()
        db_threads = env.int("DB_THREADS", DEFAULT_DB_THREADS, lo=1, hi=256)
        settings = cls(
            listen_addr=env.address("SNAPSHOT_ADDR", "127.0.0.1:50051"),
            database_url=env.str("DATABASE_URL", f"sqlite:///{data_dir / 'chartsnap.db'}"),
            image_base_url=env.url("IMAGE_BASE_URL", "http://127.0.0.1:9000/chartsnap"),
            public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080"),
            db_threads=db_threads,
            pool=PoolSize(size=env.int("DB_POOL_SIZE", db_threads, lo=1, hi=1000),
                          overflow=env.int("DB_POOL_OVERFLOW", DEFAULT_POOL_OVERFLOW, lo=0, hi=1000)),
            metrics_addr=env.address("SNAPSHOT_METRICS_ADDR", "127.0.0.1:9101"),
            bounds=job_bounds_from(env),
            nats=env.nats(),
            retention=retention_from(env),
            drain_timeout=env.drain_timeout("SNAPSHOT_DRAIN_TIMEOUT", DEFAULT_RPC_TIMEOUT_S),
        )
        env.finish()
        return settings


def job_bounds_from(env: EnvReader) -> JobBounds:
    """The job deadline is derived from the same variables the render service
    and the notifier read for their own budgets, unless set outright."""
    rendering, notifying = budgets.render_budget_from(env), budgets.notify_budget_from(env)
    render = render_budget(rendering.timeout, rendering.max_attempts, rendering.total)
    delivery_deadline = env.float("DELIVERY_DEADLINE", default_delivery_deadline(
        notifying.max_total, notifying.attempt_timeout), lo=1.0)
    return JobBounds(
        job_deadline=env.float("JOB_DEADLINE", default_job_deadline(render, delivery_deadline), lo=1.0),
        delivery_deadline=delivery_deadline,
        lost_request_grace=env.float("LOST_REQUEST_GRACE", 30.0, lo=0.1),
        sweep_interval=env.float("SWEEP_INTERVAL", 5.0, lo=0.1),
    )


def retention_from(env: EnvReader) -> Retention:
    """How long measurements are kept at each resolution, in days; a coarser
    resolution is kept at least as long as a finer one (reads beyond a
    resolution's retention take the next coarser one). The days' default is
    10 years, or the hours' retention when that is longer (hours kept a
    century keep days as long without a fourth variable)."""
    default = Retention()
    names = ("RAW", "MINUTE", "HOUR", "DAY")
    days = [env.float(f"{name}_RETENTION_DAYS", keep / DAY, lo=1 / 24)
            for name, keep in zip(names, (default.raw, default.minutes, default.hours))]
    days.append(env.float("DAY_RETENTION_DAYS", max(default.days / DAY, days[-1]), lo=1 / 24))
    if any(finer > coarser for finer, coarser in zip(days, days[1:])):
        env.problems.append(" <= ".join(f"CHARTSNAP_{name}_RETENTION_DAYS" for name in names) + " must hold "
                            f"(they are {', '.join(f'{d:g}' for d in days)})")
    return Retention(*(d * DAY for d in days))
