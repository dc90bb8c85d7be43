"""Settings of the render service, read once from CHARTSNAP_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.settings import EnvReader, NatsSettings, S3Settings, default_drain_timeout
from chartsnap.budgets import RENDER_TIMEOUT_S, render_budget_from
from render_svc.chromium_driver import DEFAULT_CHROMEDRIVER_PATH, DEFAULT_CHROMIUM_PATH
from render_svc.cpu_quota import available_cores
from render_svc.warm_renderer import DEFAULT_FULL_EMBED_EVERY, DEFAULT_START_TIMEOUT_S

MAX_BROWSERS = 64  # warm browsers one render service may run (CHARTSNAP_RENDER_BROWSERS)


def renders_in_flight_s(render_timeout: float) -> float:
    """What the renders taken may still take: the extra slot's job (default_slots)
    may wait a whole render for a browser before its own."""
    return 2 * render_timeout


def default_slots(browsers: int) -> int:
    """One job more than there are browsers: while every browser draws, the
    extra job is parsed and serialised (pure Python, ~30 ms), so a browser that
    frees up starts on the next job at once instead of waiting for it."""
    return browsers + 1


@dataclass(frozen=True)
class RenderSettings:
    health_addr: str
    s3: S3Settings             # the image bucket (its repr hides the secret key)
    slots: int                 # render requests in flight (taken from the queue, not yet acked)
    browsers: int              # warm browser sessions (concurrent embeds/captures)
    max_renders_per_browser: int
    render_timeout: float      # seconds, per attempt
    max_attempts: int          # deliveries of one render request before it fails for good
    # Seconds one cold browser start plus warm-up may take; never part of a render's budget.
    browser_start_timeout: float
    # Seconds from a request's enqueued_at after which it is not retried again
    # (render_svc.retry_budget); the default is derived from attempts and timeout.
    total_budget: float
    chromium_path: str         # the browser binary, and the chromedriver that drives it
    chromedriver_path: str
    metrics_addr: str = "127.0.0.1:9102"  # Prometheus /metrics (host:port; port 0 picks one)
    # A warm page embeds a chart afresh at least every this many renders, patching
    # the document it holds in between (render_svc.warm_renderer.BrowserOptions).
    full_embed_every: int = DEFAULT_FULL_EMBED_EVERY
    nats: NatsSettings = NatsSettings()  # CHARTSNAP_NATS_URL, _USER, _PASSWORD, _REPLICAS
    # Seconds from SIGTERM to exit (CHARTSNAP_RENDER_DRAIN_TIMEOUT): renders taken
    # finish and are acked (those still running after it are redelivered), then
    # the browsers quit.
    drain_timeout: float = default_drain_timeout(renders_in_flight_s(RENDER_TIMEOUT_S))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "RenderSettings":
        env = EnvReader(environ)
        # Unset: one browser per core the container may use (its CPU quota, not the node's cores).
        browsers = env.int("RENDER_BROWSERS", min(available_cores(), MAX_BROWSERS), lo=1, hi=MAX_BROWSERS)
        budget = render_budget_from(env)
        settings = cls(
            health_addr=env.address("RENDER_HEALTH_ADDR", "127.0.0.1:50052"),
            s3=env.s3(),
            slots=env.int("RENDER_SLOTS", default_slots(browsers), lo=1, hi=64),
            browsers=browsers,
            max_renders_per_browser=env.int("RENDER_MAX_PER_BROWSER", 500, lo=1),
            full_embed_every=env.int("RENDER_FULL_EMBED_EVERY", DEFAULT_FULL_EMBED_EVERY, lo=1),
            render_timeout=budget.timeout,
            max_attempts=budget.max_attempts,
            metrics_addr=env.address("RENDER_METRICS_ADDR", "127.0.0.1:9102"),
            nats=env.nats(),
            browser_start_timeout=env.float("RENDER_BROWSER_START_TIMEOUT", DEFAULT_START_TIMEOUT_S, lo=1.0),
            total_budget=budget.total,
            chromium_path=env.str("RENDER_CHROMIUM_PATH", DEFAULT_CHROMIUM_PATH),
            chromedriver_path=env.str("RENDER_CHROMEDRIVER_PATH", DEFAULT_CHROMEDRIVER_PATH),
            drain_timeout=env.drain_timeout("RENDER_DRAIN_TIMEOUT", renders_in_flight_s(budget.timeout)),
        )
        env.finish()
        return settings
