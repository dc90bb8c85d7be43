"""Settings of the notifier service, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from chartsnap.budgets import NOTIFY_ATTEMPT_TIMEOUT_S, notify_budget_from
from chartsnap.settings import EnvReader, NatsSettings, S3Settings, default_drain_timeout
from notifier_svc.outbound_policy import OutboundPolicy
from notifier_svc.retry_policy import RetryPolicy
from notifier_svc.smtp_sender import DEFAULT_SMTP_FROM, SmtpServer
from notifier_svc.vendor_http import AttemptTimeouts

# Prometheus /metrics (CHARTSNAP_NOTIFIER_METRICS_ADDR), beside the gateway's
# 9100, the snapshot service's 9101 and the render service's 9102.
DEFAULT_METRICS_ADDR = "127.0.0.1:9103"


@dataclass(frozen=True)
class NotifierSettings:
    health_addr: str
    s3: S3Settings             # the image bucket (its repr hides the secret key)
    concurrency: int           # delivery messages handled at once
    smtp: SmtpServer
    retry: RetryPolicy
    timeouts: AttemptTimeouts
    outbound: OutboundPolicy   # chat destinations allowed beyond public addresses (CHARTSNAP_OUTBOUND_ALLOW)
    # host:port of /metrics. Settings built in code (tests, several notifiers
    # in one process) get a free port; from_env defaults to DEFAULT_METRICS_ADDR.
    metrics_addr: str = "127.0.0.1:0"
    nats: NatsSettings = NatsSettings()  # CHARTSNAP_NATS_URL, _USER, _PASSWORD, _REPLICAS
    # Seconds from SIGTERM to exit (CHARTSNAP_NOTIFIER_DRAIN_TIMEOUT): attempts in
    # flight finish (each bounded by the attempt timeout; deliveries waiting
    # between attempts are handed back at once), then the close.
    drain_timeout: float = default_drain_timeout(NOTIFY_ATTEMPT_TIMEOUT_S)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "NotifierSettings":
        env = EnvReader(environ)
        smtp_from = env.str("SMTP_FROM", DEFAULT_SMTP_FROM)
        if "@" not in parseaddr(smtp_from)[1]:
            env.problems.append(f"CHARTSNAP_SMTP_FROM={smtp_from!r} has no e-mail address")
        ca_file = env.path("SMTP_CA_FILE", Path("/")) if env.str("SMTP_CA_FILE", "") else None
        if ca_file is not None and not ca_file.is_file():
            env.problems.append(f"CHARTSNAP_SMTP_CA_FILE={str(ca_file)!r} is not a file")
        smtp_user = env.str("SMTP_USER", "")
        smtp_password = env.str("SMTP_PASSWORD", "")
        if bool(smtp_user) != bool(smtp_password):
            env.problems.append("CHARTSNAP_SMTP_USER and CHARTSNAP_SMTP_PASSWORD must be set together")
        budget = notify_budget_from(env)
        max_attempts = env.int("NOTIFY_MAX_ATTEMPTS", 0, lo=0, hi=1000)   # 0 / unset: no cap, the budget decides
        try:
            outbound = OutboundPolicy.parse(env.str("OUTBOUND_ALLOW", ""))
        except ValueError as exc:
            env.problems.append(f"CHARTSNAP_OUTBOUND_ALLOW: {exc}")
            outbound = OutboundPolicy()
        settings = cls(
            health_addr=env.address("NOTIFIER_HEALTH_ADDR", "127.0.0.1:50053"),
            s3=env.s3(),
            concurrency=env.int("NOTIFIER_CONCURRENCY", 16, lo=1, hi=1000),
            smtp=SmtpServer(
                host=env.str("SMTP_HOST", "127.0.0.1"),
                port=env.int("SMTP_PORT", 2525, lo=1, hi=65535),
                user=smtp_user,
                password=smtp_password,
                starttls=env.bool("SMTP_STARTTLS", False),
                sender=smtp_from,
                ca_file=ca_file,
            ),
            retry=RetryPolicy(
                max_attempts=max_attempts or None,
                max_total_seconds=budget.max_total,
                # Above zero: with no count cap, a zero backoff would hammer the peer.
                base_backoff=env.float("NOTIFY_BASE_BACKOFF", 0.5, lo=0.01),
                max_backoff=env.float("NOTIFY_MAX_BACKOFF", 30.0, lo=0.0),
            ),
            timeouts=AttemptTimeouts(
                connect=env.float("NOTIFY_CONNECT_TIMEOUT", 2.0, lo=0.05),
                read=env.float("NOTIFY_READ_TIMEOUT", 6.0, lo=0.05),
                total=budget.attempt_timeout,
            ),
            outbound=outbound,
            metrics_addr=env.address("NOTIFIER_METRICS_ADDR", DEFAULT_METRICS_ADDR),
            nats=env.nats(),
            drain_timeout=env.drain_timeout("NOTIFIER_DRAIN_TIMEOUT", budget.attempt_timeout),
        )
        env.finish()
        return settings
