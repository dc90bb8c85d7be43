"""What `chartsnap` exits with: one number per kind of outcome, so a script can
tell "try again later" from "fix the request". The README's table is this one."""

from __future__ import annotations

OK = 0            # done (a delivery test: delivered)
REFUSED = 1       # the API answered 4xx (its message is printed), or what was named does not exist
USAGE = 2         # bad arguments, no credentials, a malformed CHARTSNAP_* setting
UNREACHABLE = 3   # the gateway (or, for --output, the image store) cannot be reached or did not answer in time
TIMED_OUT = 4     # --wait / `service test`: the job was not over within --timeout
FAILED = 5        # the snapshot's job failed, or a delivery it was asked for failed
SERVER_ERROR = 6  # the API answered 5xx (e.g. 503: the snapshot service is unavailable); retry later

MEANINGS = {
    OK: "done",
    REFUSED: "refused: the API answered 4xx (its message is printed), or what was named does not exist",
    USAGE: "usage: bad arguments, missing credentials or a malformed CHARTSNAP_* setting",
    UNREACHABLE: "the gateway (or the image store, for --output) cannot be reached",
    TIMED_OUT: "timed out waiting for the job (--timeout)",
    FAILED: "the snapshot failed, or a delivery it was asked for failed",
    SERVER_ERROR: "the API failed (5xx); retry later",
}
