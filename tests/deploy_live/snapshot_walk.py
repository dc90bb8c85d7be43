"""The README's curl walk against the containers `podman kube play` started:
an account made in the snapshot service's container (`chartsnap user add`),
a space, a chart, a measurement, a snapshot through the gateway, its job
polled to `complete`, and its PNG fetched from the S3 container by its
image_href and decoded at the default size.

    python -m tests.deploy_live.snapshot_walk --gateway http://127.0.0.1:PORT --admin-container NAME

Bounds: the job must be complete within the render service's whole retry
budget (chartsnap.budgets.RenderBudget().total, 107 s by default) plus
JOB_MARGIN_S; every HTTP call has REQUEST_TIMEOUT_S. Exit status 1 on any
failure, naming the step."""

from __future__ import annotations

import argparse
import base64
import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from chartsnap.budgets import RenderBudget

DEFAULT_SIZE = (600, 416)   # a snapshot's PNG size without width/height (README: 600×416)
JOB_MARGIN_S = 30.0         # queueing and the snapshot service's own steps, on a busy machine
REQUEST_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 120.0     # `podman exec ... chartsnap user add` (a cold Python start in the container)
TERMINAL = frozenset({"complete", "failed"})


class WalkFailed(Exception):
    pass


class Gateway:
    def __init__(self, base: str, email: str, token: str) -> None:
        self.base = base.rstrip("/")
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": self.auth, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as reply:
                text = reply.read()
                return reply.status, dict(reply.headers), json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            raise WalkFailed(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc


def add_account(container: str, email: str) -> str:
    """`chartsnap user add EMAIL` in the snapshot service's container; its token."""
    done = subprocess.run(["podman", "exec", container, "chartsnap", "user", "add", email, "--name", "Deploy Test",
                           "--quiet"], capture_output=True, text=True, timeout=ADMIN_TIMEOUT_S)
    if done.returncode != 0:
        raise WalkFailed(f"chartsnap user add in {container}: {done.returncode} {(done.stderr or done.stdout)[-1000:]}")
    return done.stdout.strip().splitlines()[-1]


def walk(gateway_url: str, admin_container: str) -> str:
    email = f"deploy-{uuid.uuid4().hex[:8]}@example.com"
    step(f"account {email} (chartsnap user add in {admin_container})")
    gw = Gateway(gateway_url, email, add_account(admin_container, email))
    _, _, space = gw.call("POST", "/v1/spaces", {"name": "Ops"})
    step(f"space {space['id']}")
    _, _, chart = gw.call("POST", f"/v1/spaces/{space['id']}/charts", {
        "name": "Queue depth", "type": "stacked",
        "streams": [{"metric": "queue.depth", "tags": [{"name": "host", "values": ["*"]}],
                     "group_function": "breakout"}]})
    step(f"chart {chart['id']}")
    gw.call("POST", "/v1/measurements",
            {"measurements": [{"name": "queue.depth", "value": 42, "tags": {"host": "web-1"}}]})
    status, headers, snapshot = gw.call("POST", "/v1/snapshots",
                                        {"subject": {"chart": {"id": chart["id"], "type": "stacked"}}})
    if status != 202 or not snapshot.get("job_href"):
        raise WalkFailed(f"POST /v1/snapshots: {status} {snapshot}")
    step(f"snapshot {snapshot['id']} requested: {status}, Location {headers.get('Location')}")
    poll_job(gw, path_of(snapshot["job_href"]), RenderBudget().total + JOB_MARGIN_S)
    _, _, snapshot = gw.call("GET", path_of(snapshot["href"]))
    image_href = snapshot.get("image_href")
    if not image_href:
        raise WalkFailed(f"snapshot has no image_href: {snapshot}")
    png = fetch(image_href)
    size = png_size(png)
    if size != DEFAULT_SIZE:
        raise WalkFailed(f"{image_href}: a {size[0]}x{size[1]} PNG, expected {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}")
    step(f"image {image_href}: a {size[0]}x{size[1]} PNG of {len(png)} bytes from the S3 container")
    return image_href


def poll_job(gw: Gateway, path: str, bound_s: float) -> dict[str, Any]:
    start = time.monotonic()
    seen = None
    while True:
        _, _, job = gw.call("GET", path)
        state = job.get("state")
        if state != seen:
            step(f"job {path.rsplit('/', 1)[-1]}: {state} after {time.monotonic() - start:.1f} s")
            seen = state
        if state in TERMINAL:
            if state != "complete":
                raise WalkFailed(f"job {path}: {job}")
            return job
        if time.monotonic() - start > bound_s:
            raise WalkFailed(f"job {path} still {state} after {bound_s:.0f} s (render budget + {JOB_MARGIN_S:.0f} s)")
        time.sleep(0.2)


def path_of(href: str) -> str:
    """/v1/... of an absolute href (CHARTSNAP_PUBLIC_URL may name another host than ours)."""
    return "/" + href.split("://", 1)[-1].split("/", 1)[1]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as reply:
        if reply.status != 200:
            raise WalkFailed(f"GET {url}: {reply.status}")
        return reply.read()


def png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.format != "PNG":
            raise WalkFailed(f"the image is {image.format}, not PNG")
        image.load()   # decodes every row: a truncated PNG fails here
        return image.size


def step(text: str) -> None:
    print(f"    {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the gateway's URL (its container's host-network address)")
    parser.add_argument("--admin-container", required=True, help="the podman container that has `chartsnap user add`")
    args = parser.parse_args(argv)
    try:
        walk(args.gateway, args.admin_container)
    except (WalkFailed, OSError, KeyError, ValueError) as exc:
        print(f"!!! snapshot walk failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
