"""chartsnap_cli: progress on stderr, tables and lines for people, the bounded wait."""

from __future__ import annotations

import io

import pytest

from chartsnap_cli.api_client import HttpError, Unreachable
from chartsnap_cli.job_wait import POLL_INTERVAL_S, WAIT_MARGIN_S, WaitTimedOut, default_timeout, wait_for_job
from chartsnap_cli.output import as_json, fields, printable, table
from chartsnap_cli.progress import BAR_WIDTH, JobProgress, bar_line, plain_line
from snapshot_svc.settings import JobBounds


# -- progress -------------------------------------------------------------------

def test_bar_line_fills_with_progress() -> None:
    assert bar_line("queued", 0) == f"queued   [{'-' * BAR_WIDTH}]   0%"
    assert bar_line("working", 50) == f"working  [{'#' * 15}{'-' * 15}]  50%"
    assert bar_line("complete", 100) == f"complete [{'#' * BAR_WIDTH}] 100%"
    assert bar_line("working", 250) == bar_line("working", 100)  # clamped
    assert len({len(bar_line(s, p)) for s in ("queued", "working", "complete", "failed") for p in (0, 7, 100)}) == 1


def test_not_a_terminal_gets_one_plain_line_per_change() -> None:
    stream = io.StringIO()
    progress = JobProgress(stream, interactive=False)
    for job in ({"id": 7, "state": "queued", "progress": 0}, {"id": 7, "state": "queued", "progress": 0},
                {"id": 7, "state": "working", "progress": 0}, {"id": 7, "state": "working", "progress": 50.0},
                {"id": 7, "state": "working", "progress": 50.0}, {"id": 7, "state": "complete", "progress": 100}):
        progress.update(job)
    progress.finish()
    assert stream.getvalue() == ("job 7: queued 0%\njob 7: working 0%\njob 7: working 50%\n"
                                 "job 7: complete 100%\n")
    assert "\r" not in stream.getvalue()
    assert plain_line(7, "failed", 10) == "job 7: failed 10%"


def test_a_terminal_gets_the_bar_redrawn_in_place_and_a_newline_at_the_end() -> None:
    stream = io.StringIO()
    progress = JobProgress(stream, interactive=True)
    progress.update({"id": 7, "state": "queued", "progress": 0})
    progress.update({"id": 7, "state": "complete", "progress": 100})
    progress.finish()
    assert stream.getvalue() == f"\r{bar_line('queued', 0)}\r{bar_line('complete', 100)}\n"


def test_a_stream_that_is_not_a_tty_is_taken_as_plain() -> None:
    assert JobProgress(io.StringIO()).interactive is False


# -- tables and lines -------------------------------------------------------------

def test_table_aligns_columns_without_trailing_spaces() -> None:
    assert table(("ID", "NAME", "TYPE"), [(1, "CPU", "line"), (12, "Queue depth", None)]) == (
        "ID  NAME         TYPE\n"
        "1   CPU          line\n"
        "12  Queue depth  -")


def test_fields_align_values() -> None:
    assert fields([("state", "complete"), ("progress", "100%")]) == "state:    complete\nprogress: 100%"


def test_text_from_the_api_cannot_drive_the_terminal() -> None:
    hostile = "Queue\x1b[2J\x1b]0;owned\x07 depth\r\nfake line\u202e"
    shown = printable(hostile)
    assert "\x1b" not in shown and "\r" not in shown and "\n" not in shown and "\u202e" not in shown
    assert shown.startswith("Queue\\x1b[2J") and "depth" in shown
    assert "\x1b" not in table(("NAME",), [(hostile,)])
    assert printable("Ünïcode ✓") == "Ünïcode ✓"


def test_json_is_the_value_as_it_came() -> None:
    assert as_json({"id": 7, "name": "Ünï"}) == '{\n  "id": 7,\n  "name": "Ünï"\n}'


# -- waiting ----------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ScriptedJobs:
    """Answers GET job_href from a script: job dicts, or errors to raise."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.asked = 0

    def get(self, path: str) -> dict:
        self.asked += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _wait(client: ScriptedJobs, timeout: float, clock: FakeClock) -> dict:
    return wait_for_job(client, "/v1/jobs/7", timeout, JobProgress(io.StringIO(), interactive=False),
                        clock=clock, sleep=clock.sleep)


def test_wait_returns_the_terminal_job() -> None:
    clock = FakeClock()
    jobs = ScriptedJobs({"id": 7, "state": "queued"}, {"id": 7, "state": "working", "progress": 50},
                        {"id": 7, "state": "complete", "progress": 100})
    assert _wait(jobs, 60, clock)["state"] == "complete"
    assert jobs.asked == 3 and clock.slept == [POLL_INTERVAL_S, POLL_INTERVAL_S]


def test_wait_gives_up_at_its_bound_naming_the_last_state() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimedOut) as info:
        _wait(ScriptedJobs({"id": 7, "state": "working"}), 10, clock)
    assert info.value.job["state"] == "working" and clock.now == 1010.0
    assert "not over after 10 s (last seen: working)" in str(info.value)


def test_wait_rides_out_a_gateway_briefly_away_and_honours_retry_after() -> None:
    clock = FakeClock()
    jobs = ScriptedJobs(Unreachable("restarting"), HttpError(503, "unavailable", retry_after=3.0),
                        HttpError(429, "slow down", retry_after=2.0), {"id": 7, "state": "complete"})
    assert _wait(jobs, 60, clock)["state"] == "complete"
    assert clock.slept == [POLL_INTERVAL_S, 3.0, 2.0]


def test_wait_raises_what_kept_it_from_the_job_at_the_bound() -> None:
    with pytest.raises(Unreachable):
        _wait(ScriptedJobs(Unreachable("gone")), 5, FakeClock())
    with pytest.raises(HttpError) as info:
        _wait(ScriptedJobs(HttpError(404, "Not found")), 60, FakeClock())  # not transient: at once
    assert info.value.status == 404


def test_default_timeout_is_the_services_job_bound_plus_a_sweep_and_a_margin() -> None:
    bounds = JobBounds()
    assert default_timeout({}) == bounds.job_deadline + bounds.sweep_interval + WAIT_MARGIN_S == 940.0
    assert default_timeout({"CHARTSNAP_JOB_DEADLINE": "100"}) == 100 + bounds.sweep_interval + WAIT_MARGIN_S


# -- the link -----------------------------------------------------------------------

def test_the_link_is_the_share_page_once_there_is_an_image() -> None:
    from chartsnap_cli.share_links import share_link

    base = {"id": 7, "href": "http://gw.example:8080/v1/snapshots/7"}
    assert share_link({**base, "image_href": None, "share_href": "http://gw.example:8080/s/x-7"}) is None
    image = "http://s3.example:9000/chartsnap/chart/abcdefghij012345-7.png"
    assert share_link({**base, "image_href": image, "share_href": "http://gw.example:8080/s/abcdefghij012345-7"}) \
        == "http://gw.example:8080/s/abcdefghij012345-7"
    # A gateway that names no share_href: the page derived from the image key, on the gateway's origin.
    assert share_link({**base, "image_href": image}) == "http://gw.example:8080/s/abcdefghij012345-7"
    # An image key that new_image_key did not make: the image itself.
    odd = "http://s3.example:9000/chartsnap/chart/odd.png"
    assert share_link({**base, "image_href": odd}) == odd
