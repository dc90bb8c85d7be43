"""Logs you can follow, through a real stack: one snapshot request's id in the
log of every service it passes (gateway, snapshot_svc, render_svc,
notifier_svc), on every line about that snapshot; every line of every log a
JSON object; the id returned to the client, made when the client sent none or
a hostile one (never echoed, never logged); no credential in any log; and a
bad CHARTSNAP_LOG_LEVEL stops each service at start-up, naming the variable."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chartsnap import logs
from devstack.processes import REPO, Stack
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

SERVICES = ("gateway", "snapshot_svc", "render_svc", "notifier_svc")
MADE_ID = re.compile(r"[0-9a-f]{32}")
# A job with one delivery ends within the render and notify budgets; this is
# their sum (render ~seconds here, one delivery to a local peer) with margin.
JOB_BOUND_S = 90.0
# After the job reads complete, the last lines about it (the delivery's result
# applied) are at most one result-consumer fetch away.
LAST_LINE_BOUND_S = 5.0


def log_lines(stack: Stack, service: str) -> list[dict]:
    """Every line of every replica's log, each parsed (fails on one that is not JSON)."""
    lines = []
    for name in stack.replica_names(service):
        path = stack.log_dir / f"{name}.log"
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                entry = json.loads(text)
            except ValueError:
                raise AssertionError(f"{path.name}:{number} is not JSON: {text[:300]!r}") from None
            assert isinstance(entry, dict) and {"ts", "level", "service", "logger", "msg"} <= set(entry), \
                f"{path.name}:{number}: {text[:300]}"
            lines.append(entry)
    return lines


def about_snapshot(entry: dict, snapshot_id: int) -> bool:
    """Whether a line is about the snapshot: by its context, or by its words."""
    return (entry.get("snapshot_id") == snapshot_id
            or str(entry.get("delivery_id", "")).startswith(f"{snapshot_id}:")
            or re.search(rf"\bsnapshot {snapshot_id}\b|\bdelivery {snapshot_id}:", entry["msg"]) is not None)


def wait_for(what: str, check, bound_s: float):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + bound_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            assert found, f"{what}: not within {bound_s:g} s"
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def slack_service(api: Api, peers) -> str:  # noqa: ANN001
    r = api.post("/v1/services", json={"title": "ids room", "type": "slack", "settings": peers.slack.settings()})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_one_request_id_on_every_line_about_its_snapshot_in_every_service(stack, api: Api,  # noqa: ANN001
                                                                          slack_service: str) -> None:
    now = int(time.time())
    api.post("/v1/measurements", json={"measurements": [
        {"name": "ids.depth", "value": i % 5, "time": now - 600 + 60 * i} for i in range(10)]})
    _, chart_id = api.make_chart("Followed", "line", [{"metric": "ids.depth"}])
    request_id = f"test-{uuid.uuid4()}"
    created = api.post("/v1/snapshots", headers={"X-Request-Id": request_id},
                       json={"subject": {"chart": {"id": chart_id, "type": "line"}}, "services": [slack_service]})
    assert created.status_code == 202, created.text
    assert created.headers["X-Request-Id"] == request_id
    snapshot_id = created.json()["id"]
    job = api.wait_for_job(created.json()["job_href"], timeout=JOB_BOUND_S)
    assert job["state"] == "complete", job

    def every_service_said_it() -> dict[str, list[dict]] | None:
        found = {service: [e for e in log_lines(stack, service) if e.get("request_id") == request_id]
                 for service in SERVICES}
        # The delivery's result is applied last: snapshot_svc's line about it ends the story.
        done = any("delivered after" in e["msg"] for e in found["snapshot_svc"])
        return found if done and all(found.values()) else None

    found = wait_for("a line with the request id in every service's log", every_service_said_it,
                     LAST_LINE_BOUND_S)
    for service in SERVICES:
        assert all(e["service"] == service for e in found[service]), service
    [access] = [e for e in found["gateway"] if e["logger"] == "gateway.access"]
    assert (access["method"], access["path"], access["status"]) == ("POST", "/v1/snapshots", 202)
    assert access["account"] == api.email and access["duration_ms"] >= 0
    assert any(e["msg"].startswith(f"snapshot {snapshot_id} taken") for e in found["snapshot_svc"])
    assert any(f"snapshot {snapshot_id} rendered" in e["msg"] for e in found["render_svc"])
    assert any("delivered on attempt 1" in e["msg"] for e in found["notifier_svc"])

    # Every line about the snapshot, in every service, says the request and the snapshot.
    for service in SERVICES:
        about = [e for e in log_lines(stack, service) if about_snapshot(e, snapshot_id)]
        assert about or service == "gateway", service
        wrong = [e for e in about if e.get("request_id") != request_id]
        assert not wrong, (service, wrong[:3])
        if service != "gateway":
            assert all(e.get("snapshot_id") == snapshot_id for e in about), (service, about[:3])
            # (A DeliveryResult names no job: snapshot_svc's lines applying one name the snapshot only.)
            assert all(e.get("job_id", None if service == "snapshot_svc" else "none") in (None, job["id"])
                       for e in about), (service, about[:3])
    notifier = [e for e in found["notifier_svc"] if "delivery_id" in e]
    assert notifier and all(e["delivery_id"] == f"{snapshot_id}:{slack_service}" for e in notifier)


def test_a_request_without_an_id_gets_one_made(api: Api) -> None:
    listed = api.get("/v1/snapshots")
    refused = api.get("/v1/snapshots", auth=(api.email, "wrong-token"))
    missing = api.get("/v1/nowhere")
    made = [r.headers.get("X-Request-Id", "") for r in (listed, refused, missing)]
    assert [r.status_code for r in (listed, refused, missing)] == [200, 401, 404]
    assert all(MADE_ID.fullmatch(m) for m in made) and len(set(made)) == 3, made


def raw_request(stack: Stack, header_line: bytes) -> tuple[int, dict[str, str], bytes]:
    """GET /v1/snapshots (no credentials: a 401, which the access log keeps) with one
    header line exactly as given (requests refuses to send these)."""
    with socket.create_connection(("127.0.0.1", stack.ports.gateway), timeout=10) as sock:
        sock.sendall(b"GET /v1/snapshots HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + header_line
                     + b"\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


HOSTILE = {
    "CR inside": b"X-Request-Id: evil\rX-Injected: 1",
    "folded onto a second line": b"X-Request-Id: evil\r\n {\"level\": \"CRITICAL\"}",
    "10 kB": b"X-Request-Id: " + b"A" * 10_000,
    "non-ASCII": "X-Request-Id: évil-ünïcode-id".encode(),
    "raw high bytes": b"X-Request-Id: \xff\xfe\x00evil",
    "control characters": b"X-Request-Id: evil\x1b[31m\x07",
    "JSON breaking": b"X-Request-Id: \"},\"level\":\"CRITICAL",
    "too long by one": b"X-Request-Id: " + b"b" * 65,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_id_is_replaced_never_echoed_nor_logged(stack, name: str) -> None:  # noqa: ANN001
    sent = HOSTILE[name]
    value = sent.partition(b": ")[2]
    gateway_log = stack.log_dir / "gateway.log"
    logged_before = gateway_log.stat().st_size
    status, headers, body = raw_request(stack, sent)
    reply = json.dumps(headers).encode() + body
    # Either aiohttp refuses the request line as malformed (400, before any of
    # our code), or the id is replaced by one made here; never the client's.
    assert status in (401, 400), (status, body[:200])
    if status == 401:
        assert MADE_ID.fullmatch(headers["x-request-id"]), headers
    for piece in {value[:40], value[-20:], b"evil", b"CRITICAL", b"Injected"} - {b""}:
        if piece in value:
            assert piece not in reply, (name, piece, reply[:300])
    # What the gateway wrote about this request (its lines are written before it answers).
    log_text = gateway_log.read_bytes()[logged_before:]
    assert log_text, "the gateway logged the request"
    for piece in {value[:40], b"evil\x1b", b"\"},\"level\":\"CRITICAL"} - {b""}:
        if piece in value and len(piece) > 8:
            assert piece not in log_text, (name, piece)
    log_lines(stack, "gateway")   # and the log is still JSON, line by line


def test_no_credential_in_any_log(stack, api: Api, peers) -> None:  # noqa: ANN001
    import base64

    import requests

    # A share page's token opens it (and its image): visited, it is still in no log.
    shared = [s["share_href"] for s in api.get("/v1/snapshots").json()["snapshots"] if s.get("share_href")]
    assert shared, "the snapshots of this module have share pages"
    for href in shared:
        assert requests.get(href, timeout=10).status_code == 200, href
    share_tokens = {f"the share token of {href}": href.rsplit("/", 1)[1].rsplit("-", 1)[0] for href in shared}
    secrets = {**share_tokens, "the API token": api.token,
               "the Authorization header": base64.b64encode(f"{api.email}:{api.token}".encode()).decode(),
               "the S3 secret key": stack.creds.secret_key,
               "the Slack webhook secret": peers.slack.secret,
               **{f"the NATS password of {user}": password for user, password in stack.nats_passwords.items()}}
    for service in SERVICES:
        for name in stack.replica_names(service):
            text = (stack.log_dir / f"{name}.log").read_text(encoding="utf-8")
            assert text, name
            leaked = [what for what, secret in secrets.items() if secret and secret in text]
            assert not leaked, (name, leaked)


def start_refused(module: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHARTSNAP_LOG_LEVEL": "loud", "CHARTSNAP_DATA_DIR": str(tmp_path / module)}
    return subprocess.run([sys.executable, "-m", module], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_a_bad_log_level_stops_every_service_at_start_naming_the_variable(tmp_path: Path) -> None:
    with ThreadPoolExecutor(len(SERVICES)) as pool:
        done = dict(zip(SERVICES, pool.map(lambda module: start_refused(module, tmp_path), SERVICES)))
    for module, run in done.items():
        assert run.returncode == 2, (module, run.returncode, run.stderr[-2000:])
        assert "Traceback" not in run.stderr + run.stdout, module
        [line] = [json.loads(text) for text in run.stderr.splitlines()]
        assert (line["level"], line["service"]) == ("CRITICAL", module)
        assert "CHARTSNAP_LOG_LEVEL='loud'" in line["msg"], line
        assert all(level in line["msg"] for level in logs.LEVELS), line
