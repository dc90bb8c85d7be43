"""gRPC tooling against a live stack: the README's Python client example runs
and prints an image URL that serves a PNG (and the README shows exactly that
file), and grpcurl lists, describes and calls the services with no .proto
files, through server reflection on every gRPC server."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time

import pytest

from chartsnap.budgets import RENDER_MAX_ATTEMPTS, RENDER_TIMEOUT_S, default_render_total_budget
from devstack.processes import CACHE
from tests.conftest import repo_root
from tests.e2e.api_client import Api, fetch_png

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

EXAMPLE = repo_root() / "docs" / "examples" / "grpc_client.py"
README = repo_root() / "README.md"
README_SECTION = "Using the gRPC API"
GRPCURL = CACHE / "bin" / "grpcurl"

API_SERVICES = {"chartsnap.v1.AccountService", "chartsnap.v1.AnnotationService", "chartsnap.v1.DestinationService",
                "chartsnap.v1.MeasurementService",
                "chartsnap.v1.SnapshotService", "chartsnap.v1.SpaceService"}
HEALTH, REFLECTION = "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"
# The example waits at most WAIT_S for the image; a render's whole budget fits in it.
EXAMPLE_BOUND_S = default_render_total_budget(RENDER_MAX_ATTEMPTS, RENDER_TIMEOUT_S) + 60
GRPCURL_BOUND_S = 30  # one reflection round trip on a loaded machine, with margin (grpcurl's own -max-time is 10)


def grpcurl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if not GRPCURL.exists():
        pytest.fail(f"grpcurl not found at {GRPCURL}: run scripts/install-tools.sh (make test does)")
    done = subprocess.run([str(GRPCURL), "-max-time", "10", *args], capture_output=True, text=True,
                          timeout=GRPCURL_BOUND_S)
    if check:
        assert done.returncode == 0, f"grpcurl {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return done


def listed(address: str) -> set[str]:
    return set(grpcurl("-plaintext", address, "list").stdout.split())


def auth_header(email: str, token: str) -> str:
    return "authorization: Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


# -- the Python example -------------------------------------------------------

def test_the_python_example_snapshots_a_chart_and_prints_a_png_url(api: Api, stack) -> None:  # noqa: ANN001
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "grpc.example", "value": 10 + i % 7, "time": now - 3600 + 60 * i} for i in range(60)]})
    _, chart_id = api.make_chart("gRPC example", "line", [{"metric": "grpc.example"}])
    env = {**os.environ, "CHARTSNAP_SNAPSHOT_ADDR": stack.snapshot_addrs[0],
           "CHARTSNAP_EMAIL": api.email, "CHARTSNAP_TOKEN": api.token}
    done = subprocess.run([sys.executable, str(EXAMPLE), str(chart_id)], env=env, cwd=repo_root(),
                          capture_output=True, text=True, timeout=EXAMPLE_BOUND_S)
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert re.fullmatch(r"https?://\S+\.png", url), done.stdout
    image = fetch_png(url)  # 200, image/png, no credentials
    assert image.size == (600, 416)


def test_the_python_example_says_why_it_was_refused(stack) -> None:  # noqa: ANN001
    env = {**os.environ, "CHARTSNAP_SNAPSHOT_ADDR": stack.snapshot_addrs[0],
           "CHARTSNAP_EMAIL": "nobody@example.com", "CHARTSNAP_TOKEN": "wrong"}
    done = subprocess.run([sys.executable, str(EXAMPLE), "1"], env=env, cwd=repo_root(),
                          capture_output=True, text=True, timeout=EXAMPLE_BOUND_S)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "UNAUTHENTICATED: Authorization failed"


def readme_python_block(text: str, heading: str) -> str | None:
    """The first ```python block of the README section `heading` (any level,
    subsections included), or None when there is no such section or no python
    block in it. Lines inside code blocks are never taken for headings."""
    level, block, in_fence = None, None, False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if block is not None and in_fence:
                return "".join(block)
            in_fence = not in_fence
            if in_fence and level is not None and line.strip() == "```python":
                block = []
            continue
        if in_fence:
            if block is not None:
                block.append(line)
            continue
        heading_match = re.match(r"(#+) (.*?)\s*$", line)
        if heading_match:
            if level is not None and len(heading_match.group(1)) <= level:
                return None
            if heading_match.group(2) == heading:
                level = len(heading_match.group(1))
    return None


def test_readme_shows_exactly_the_tested_example() -> None:
    block = readme_python_block(README.read_text(encoding="utf-8"), README_SECTION)
    assert block is not None, f"README.md has no '{README_SECTION}' section with a ```python block"
    assert block == EXAMPLE.read_text(encoding="utf-8"), (
        f"the ```python block under '{README_SECTION}' in README.md differs from {EXAMPLE.relative_to(repo_root())}")


def test_readme_block_finder() -> None:
    text = ("# t\n```python\nbefore\n```\n## Using the gRPC API\nsome words\n```sh\n# not a heading\n```\n"
            "```python\n# a comment\nprint(1)\n```\n### Sub\n```python\nx\n```\n## Next\n```python\nno\n```\n")
    assert readme_python_block(text, "Using the gRPC API") == "# a comment\nprint(1)\n"
    assert readme_python_block("## Using the gRPC API\n### Example\n```python\ny\n```\n",
                               "Using the gRPC API") == "y\n"
    assert readme_python_block("## Using the gRPC API\nwords only\n## Next\n```python\nno\n```\n",
                               "Using the gRPC API") is None
    assert readme_python_block("## Other\n```python\nno\n```\n", "Using the gRPC API") is None


# -- grpcurl, no .proto files ---------------------------------------------------

def test_grpcurl_lists_the_snapshot_service_and_its_health(stack) -> None:  # noqa: ANN001
    assert listed(stack.snapshot_addrs[0]) == API_SERVICES | {HEALTH, REFLECTION}


@pytest.mark.parametrize("worker", ["render_svc", "notifier_svc"])
def test_grpcurl_lists_each_workers_health(stack, worker: str) -> None:  # noqa: ANN001
    address = stack.health_addr(worker)
    assert listed(address) == {HEALTH, REFLECTION}
    described = grpcurl("-plaintext", address, "describe", HEALTH).stdout
    assert "rpc Check ( .grpc.health.v1.HealthCheckRequest ) returns ( .grpc.health.v1.HealthCheckResponse )" \
        in described
    checked = json.loads(grpcurl("-plaintext", address, f"{HEALTH}/Check").stdout)
    assert checked == {"status": "SERVING"}


def test_grpcurl_describes_the_snapshot_service_and_its_messages(stack) -> None:  # noqa: ANN001
    address = stack.snapshot_addrs[0]
    service = grpcurl("-plaintext", address, "describe", "chartsnap.v1.SnapshotService").stdout
    for rpc in ("CreateSnapshot", "GetSnapshot", "ListSnapshots", "GetJob"):
        assert f"rpc {rpc} (" in service, service
    message = grpcurl("-plaintext", address, "describe", "chartsnap.v1.CreateSnapshotRequest").stdout
    assert ".chartsnap.v1.SnapshotSubject subject = 1;" in message, message
    missing = grpcurl("-plaintext", address, "describe", "chartsnap.v1.NoSuchService", check=False)
    assert missing.returncode != 0 and "NoSuchService" in missing.stderr


def test_grpcurl_calls_with_the_credentials_as_metadata(api: Api, stack) -> None:  # noqa: ANN001
    address = stack.snapshot_addrs[0]
    _, chart_id = api.make_chart("grpcurl", "line", [{"metric": "grpcurl.metric"}])
    header = auth_header(api.email, api.token)
    me = json.loads(grpcurl("-plaintext", "-H", header, address, "chartsnap.v1.AccountService/WhoAmI").stdout)
    assert me["email"] == api.email
    created = json.loads(grpcurl(
        "-plaintext", "-H", header, "-d", json.dumps({"subject": {"chart_id": chart_id, "chart_type": "line"}}),
        address, "chartsnap.v1.SnapshotService/CreateSnapshot").stdout)
    job = api.wait_for_job(f"/v1/jobs/{created['job_id']}", timeout=EXAMPLE_BOUND_S)  # grpcurl prints proto names
    assert job["state"] == "complete", job
    refused = grpcurl("-plaintext", "-H", auth_header(api.email, "wrong"), address,
                      "chartsnap.v1.AccountService/WhoAmI", check=False)
    assert refused.returncode != 0 and "Unauthenticated" in refused.stderr, refused.stderr

