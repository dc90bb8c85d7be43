"""Waiting for a snapshot's job to end, within a bound.

The default bound is the one the snapshot service documents and enforces: every
accepted job is terminal CHARTSNAP_JOB_DEADLINE after its creation (920 s by
default, derived from the render and delivery budgets), plus at most one sweep
interval; the CLI adds a margin for its own polling. It reads the same
CHARTSNAP_* variables, with the same defaults, as the service does
(snapshot_svc.settings.job_bounds_from), so a shell that configures the stack
configures the wait too."""

from __future__ import annotations

import time
from typing import Callable

from chartsnap.job_states import TERMINAL
from chartsnap_cli.api_client import ApiClient, HttpError, Unreachable
from chartsnap_cli.progress import JobProgress

POLL_INTERVAL_S = 0.5
WAIT_MARGIN_S = 15.0  # the last poll's round trip, and the clock of the CLI against the service's


class WaitTimedOut(Exception):
    def __init__(self, job: dict | None, timeout: float) -> None:
        state = job.get("state", "?") if job else "unknown"
        super().__init__(f"the job was not over after {timeout:g} s (last seen: {state}); "
                         "it goes on in the service (`chartsnap job get` follows it)")
        self.job = job
        self.timeout = timeout


def default_timeout(environ: dict[str, str] | None = None) -> float:
    """The service's bound on a job, plus one sweep and the margin (940 s by default).
    Raises SettingsError when one of the variables it reads is malformed."""
    # Imported here: the service's settings load SQLAlchemy, which only a wait needs.
    from chartsnap.settings import EnvReader
    from snapshot_svc.settings import job_bounds_from

    env = EnvReader(environ)
    bounds = job_bounds_from(env)
    env.finish()
    return bounds.job_deadline + bounds.sweep_interval + WAIT_MARGIN_S


def wait_for_job(client: ApiClient, job_href: str, timeout: float, progress: JobProgress,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict:
    """The job once terminal. A gateway that is briefly away (restarting, rate
    limiting, its service unavailable) is asked again until the bound; past it,
    that error is raised, or WaitTimedOut when the job was simply not over."""
    deadline = clock() + timeout
    job: dict | None = None
    try:
        while True:
            pause = POLL_INTERVAL_S
            try:
                job = client.get(job_href)
                progress.update(job)
                if job.get("state") in TERMINAL:
                    return job
            except Unreachable:
                if clock() >= deadline:
                    raise
            except HttpError as exc:
                if not exc.transient or clock() >= deadline:
                    raise
                pause = max(pause, exc.retry_after or 0.0)
            left = deadline - clock()
            if left <= 0:
                raise WaitTimedOut(job, timeout)
            sleep(min(pause, left))
    finally:
        progress.finish()
