"""End to end through the gateway, as a client sees it.

Latency at one client: `POST /v1/snapshots`, then `GET` the job every
`poll_interval_s` until it is terminal; the sample is POST sent → `complete`
seen. Polling is fast (default 5 ms between polls, each poll ~2 ms) so the
figure is within a few ms of the true completion; the snapshot service's own
create→complete histogram is reported alongside as a cross-check.

Burst: N snapshots submitted at once over many connections. Completions are
followed through the snapshot list (`GET /v1/snapshots`, 100 per page, oldest
pending first; a snapshot without deliveries has its image exactly when its job
is complete), which costs the server far less than polling N jobs; afterwards
every job is read once to confirm it is `complete`."""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import time
from dataclasses import dataclass, field

import aiohttp

from chartsnap.job_states import TERMINAL

from bench.bench_stack import BenchStack
from bench.cpu_accounting import (CpuSnapshot, cores_used, cpu_ms_per_item, others_cpu, others_cpu_between,
                                  read_cpu)
from bench.memory_sampler import ProcessTreeMemorySampler
from bench.percentiles import summarize_ms
from bench.service_metrics import scrape_all, step_breakdown

log = logging.getLogger(__name__)

LIST_PAGE = 100


@dataclass(frozen=True)
class EndToEndPlan:
    warm_up: int               # snapshots before measuring (first renders, connection set-up)
    sequential: int            # one client, one snapshot at a time
    burst: int                 # submitted at once
    poll_interval_s: float = 0.005
    # The burst follows completions through the snapshot list; reading it more
    # often than this would spend the CPU the burst is measuring.
    burst_poll_interval_s: float = 0.1
    burst_connections: int = 64
    burst_timeout_s: float = 300.0
    memory_interval_s: float = 0.1


@dataclass
class Submitted:
    snapshot_id: int
    job_href: str
    post_s: float              # POST sent → 202 received


@dataclass
class AccountSnapshots:
    """Every snapshot id this run created, so list offsets can be computed."""

    ids: list[int] = field(default_factory=list)

    def add(self, snapshot_id: int) -> None:
        bisect.insort(self.ids, snapshot_id)

    def offset_of(self, snapshot_id: int) -> int:
        return bisect.bisect_left(self.ids, snapshot_id)


def _snapshot_body(chart_id: int) -> dict:
    return {"subject": {"chart": {"id": chart_id, "type": "line"}}}


async def _submit(session: aiohttp.ClientSession, bench: BenchStack) -> Submitted:
    started = time.perf_counter()
    async with session.post(f"{bench.gateway_url}/v1/snapshots", json=_snapshot_body(bench.chart_id)) as reply:
        body = await reply.json(content_type=None)
        if reply.status != 202:
            raise RuntimeError(f"POST /v1/snapshots answered {reply.status}: {body}")
    return Submitted(int(body["id"]), body["job_href"], time.perf_counter() - started)


async def _get_job(session: aiohttp.ClientSession, job_href: str) -> dict:
    async with session.get(job_href) as reply:
        if reply.status != 200:
            raise RuntimeError(f"GET {job_href} answered {reply.status}")
        return await reply.json()


async def _one_at_a_time(session: aiohttp.ClientSession, bench: BenchStack, poll_interval_s: float,
                         created: AccountSnapshots) -> tuple[float, Submitted, str, int]:
    started = time.perf_counter()
    submitted = await _submit(session, bench)
    created.add(submitted.snapshot_id)
    polls = 0
    while True:
        job = await _get_job(session, submitted.job_href)
        polls += 1
        if job["state"] in TERMINAL:
            return time.perf_counter() - started, submitted, job["state"], polls
        await asyncio.sleep(poll_interval_s)


async def run_sequential(bench: BenchStack, plan: EndToEndPlan, created: AccountSnapshots) -> dict:
    auth = aiohttp.BasicAuth(bench.account.email, bench.account.token)
    async with aiohttp.ClientSession(auth=auth) as session:
        for _ in range(plan.warm_up):
            await _one_at_a_time(session, bench, plan.poll_interval_s, created)
        before = await asyncio.to_thread(scrape_all, bench)
        cpu_before, others_before = _read_cpu(bench), _others_cpu(bench)
        phase_started = time.perf_counter()
        latencies, posts, polls, failures = [], [], [], 0
        for _ in range(plan.sequential):
            latency, submitted, state, n_polls = await _one_at_a_time(session, bench, plan.poll_interval_s, created)
            if state != "complete":
                failures += 1
                continue
            latencies.append(latency)
            posts.append(submitted.post_s)
            polls.append(n_polls)
        phase_s = time.perf_counter() - phase_started
        cpu_after, others_after = _read_cpu(bench), _others_cpu(bench)
        after = await asyncio.to_thread(scrape_all, bench)
    cpu = cpu_after.minus(cpu_before)
    return {
        "latency_ms": summarize_ms(latencies),
        "post_ms": summarize_ms(posts),
        "mean_polls_per_snapshot": round(sum(polls) / len(polls), 1) if polls else None,
        "poll_interval_ms": plan.poll_interval_s * 1e3,
        "not_complete": failures,
        "server_steps": step_breakdown(before, after),
        # Includes polling: ~1 GET per poll interval while each job runs.
        "cpu_ms_per_snapshot": cpu_ms_per_item(cpu, plan.sequential),
        "other_processes_cores": cores_used(others_cpu_between(others_before, others_after), phase_s),
    }


async def _submit_burst(session: aiohttp.ClientSession, bench: BenchStack,
                        count: int) -> tuple[list[Submitted], list[str]]:
    outcomes = await asyncio.gather(*(_submit(session, bench) for _ in range(count)), return_exceptions=True)
    accepted = [o for o in outcomes if isinstance(o, Submitted)]
    errors = [f"{type(o).__name__}: {o}" for o in outcomes if not isinstance(o, Submitted)]
    return accepted, errors


async def _follow_completions(session: aiohttp.ClientSession, bench: BenchStack, accepted: list[Submitted],
                              created: AccountSnapshots, plan: EndToEndPlan) -> tuple[dict[int, float], list[str]]:
    """When each snapshot was first seen with its image (perf_counter time); and
    the jobs that ended otherwise."""
    pending = sorted(s.snapshot_id for s in accepted)
    jobs = {s.snapshot_id: s.job_href for s in accepted}
    completed: dict[int, float] = {}
    errors: list[str] = []
    deadline = time.monotonic() + plan.burst_timeout_s
    oldest_since = (pending[0] if pending else None, time.monotonic())
    while pending and time.monotonic() < deadline:
        offset = created.offset_of(pending[0])
        async with session.get(f"{bench.gateway_url}/v1/snapshots",
                               params={"orderby": "id", "sort": "asc", "offset": str(offset),
                                       "length": str(min(LIST_PAGE, len(pending)))}) as reply:
            page = (await reply.json())["snapshots"] if reply.status == 200 else []
        seen_at = time.perf_counter()
        ready = {s["id"] for s in page if s.get("image_href")}
        still = []
        for snapshot_id in pending:
            if snapshot_id in ready:
                completed[snapshot_id] = seen_at
            else:
                still.append(snapshot_id)
        pending = still
        if not pending:
            break
        if pending[0] != oldest_since[0]:
            oldest_since = (pending[0], time.monotonic())
            continue  # the frontier moved: look again at once
        if time.monotonic() - oldest_since[1] > 2.0:
            # The oldest has been stuck a while: a failed job never gets an image.
            job = await _get_job(session, jobs[pending[0]])
            if job["state"] in TERMINAL and job["state"] != "complete":
                errors.append(f"snapshot {pending[0]}: job {job['state']} {job.get('errors')}")
                pending.pop(0)
                continue
            oldest_since = (pending[0], time.monotonic())
        await asyncio.sleep(plan.burst_poll_interval_s)
    errors += [f"snapshot {i}: not complete after {plan.burst_timeout_s:.0f}s" for i in pending]
    return completed, errors


async def run_burst(bench: BenchStack, plan: EndToEndPlan, created: AccountSnapshots) -> dict:
    auth = aiohttp.BasicAuth(bench.account.email, bench.account.token)
    connector = aiohttp.TCPConnector(limit=plan.burst_connections)
    timeout = aiohttp.ClientTimeout(total=60)
    before = await asyncio.to_thread(scrape_all, bench)
    sampler = ProcessTreeMemorySampler(bench.render_svc_pid(), plan.memory_interval_s)
    sampler.sample_once()
    idle_memory = sampler.peak()
    async with aiohttp.ClientSession(auth=auth, connector=connector, timeout=timeout) as session:
        with sampler:
            cpu_before, others_before = _read_cpu(bench), _others_cpu(bench)
            counts_before = [counter.read() for counter in bench.phase_counters]
            started = time.perf_counter()
            accepted, errors = await _submit_burst(session, bench, plan.burst)
            submitted = time.perf_counter()
            for s in accepted:
                created.add(s.snapshot_id)
            completed, follow_errors = await _follow_completions(session, bench, accepted, created, plan)
            phase_s = time.perf_counter() - started
            cpu_after, others_after = _read_cpu(bench), _others_cpu(bench)
            counts_after = [counter.read() for counter in bench.phase_counters]
        errors += follow_errors
        # Confirm every job's own state: the image being listed is not the whole story.
        for s in accepted:
            if s.snapshot_id in completed:
                job = await _get_job(session, s.job_href)
                if job["state"] != "complete":
                    errors.append(f"snapshot {s.snapshot_id}: image listed but job {job['state']}")
                    completed.pop(s.snapshot_id)
    after = await asyncio.to_thread(scrape_all, bench)
    finished = max(completed.values(), default=started)
    cpu = cpu_after.minus(cpu_before)
    wall_s = finished - started
    return {
        "submitted": plan.burst,
        "accepted": len(accepted),
        "completed": len(completed),
        "errors": len(errors),
        "error_samples": errors[:10],
        "connections": plan.burst_connections,
        "submit_all_s": round(submitted - started, 3),
        "wall_s": round(wall_s, 3),
        "throughput_per_s": round(len(completed) / wall_s, 2) if wall_s > 0 else None,
        "post_ms": summarize_ms([s.post_s for s in accepted]),
        # Submit start → first seen complete: an upper bound per snapshot (the
        # list is read every few ms, and only from the oldest pending snapshot on).
        "latency_ms": summarize_ms([t - started for t in completed.values()]),
        "render_memory": {"idle": idle_memory.as_dict(), "burst": sampler.peak().as_dict()},
        "server_steps": step_breakdown(before, after),
        "cpu_ms_per_snapshot": cpu_ms_per_item(cpu, len(completed)),
        "cpu_busy_share": _busy_share(cpu, phase_s),
        "other_processes_cores": cores_used(others_cpu_between(others_before, others_after), phase_s),
        **({"counts_per_snapshot": {counter.name: counter.per_item(before_count, after_count, len(completed))
                                    for counter, before_count, after_count
                                    in zip(bench.phase_counters, counts_before, counts_after)}}
           if bench.phase_counters else {}),
    }


def _read_cpu(bench: BenchStack) -> CpuSnapshot:
    return read_cpu(bench.service_pids(), trees=bench.cpu_trees)


def _others_cpu(bench: BenchStack) -> dict[tuple[int, int], float]:
    return others_cpu(os.getpid(), also_ours=bench.cpu_trees.values())


def _busy_share(delta: dict[str, float], wall_s: float) -> float | None:
    """Share of all cores' time the stack kept busy (1.0 = every core all the time)."""
    cores = os.cpu_count() or 1
    return round(sum(delta.values()) / (wall_s * cores), 2) if wall_s > 0 else None


async def run_end_to_end(bench: BenchStack, plan: EndToEndPlan) -> dict:
    created = AccountSnapshots()
    sequential = await run_sequential(bench, plan, created)
    log.info("end to end, one client: p50 %.0f ms, p99 %.0f ms", sequential["latency_ms"].get("p50", 0),
             sequential["latency_ms"].get("p99", 0))
    burst = await run_burst(bench, plan, created)
    log.info("burst: %s of %s complete in %.1fs", burst["completed"], burst["submitted"], burst["wall_s"])
    return {"one_client": sequential, "burst": burst}
