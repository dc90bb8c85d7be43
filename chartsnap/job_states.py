"""The states of a snapshot's job, as the API shows them. A job moves only
forward: queued → working → complete | failed."""

from __future__ import annotations

QUEUED, WORKING, COMPLETE, FAILED = "queued", "working", "complete", "failed"
JOB_STATES = (QUEUED, WORKING, COMPLETE, FAILED)
TERMINAL = (COMPLETE, FAILED)
