"""Where a job stands, on stderr while the CLI waits: a bar redrawn in place on
a terminal (queued → working → complete), one plain line per change otherwise
(a log or a CI job reads those; carriage returns would garble them)."""

from __future__ import annotations

from typing import TextIO

from chartsnap_cli.output import printable

BAR_WIDTH = 30
STATE_WIDTH = len("complete")  # the longest state, so the bar does not move


def bar_line(state: str, progress: float, width: int = BAR_WIDTH) -> str:
    """`working  [###############---------------]  50%`"""
    fraction = min(max(progress, 0.0), 100.0) / 100.0
    filled = round(fraction * width)
    return f"{state:<{STATE_WIDTH}} [{'#' * filled}{'-' * (width - filled)}] {fraction * 100:3.0f}%"


def plain_line(job_id: object, state: str, progress: float) -> str:
    """`job 7: working 50%`"""
    return f"job {job_id}: {state} {min(max(progress, 0.0), 100.0):.0f}%"


class JobProgress:
    """Shows each job answer polled; `finish` ends the bar's line."""

    def __init__(self, stream: TextIO, interactive: bool | None = None) -> None:
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.last: tuple[str, float] | None = None
        self.drawn = False

    def update(self, job: dict) -> None:
        # The API's words reach a terminal: control characters made visible.
        state, progress = printable(job.get("state", "?")), float(job.get("progress") or 0.0)
        if (state, progress) == self.last:
            return
        self.last = (state, progress)
        if self.interactive:
            self.stream.write("\r" + bar_line(state, progress))
            self.drawn = True
        else:
            self.stream.write(plain_line(job.get("id", "?"), state, progress) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
