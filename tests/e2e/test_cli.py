"""The real `.venv/bin/chartsnap`, as a subprocess, against the whole stack:
a newcomer's walk (space, chart, a sample, a snapshot saved as a PNG with its
share link), every read command in both forms, a real test delivery to the
local Slack peer (delivered, and failed with the vendor's words), the exit
codes of a wrong token, an unreachable gateway and a wait that runs out, and
the admin commands' accounts as the gateway then sees them.

Bounds: a snapshot with one delivery is waited for JOB_WAIT_S (the CLI's own
--timeout; the e2e tier's jobs end within seconds, test_delivery waits 60 s);
each command's process gets that plus its start-up. A rotated or disabled
token is refused through the gateway within the snapshot service's credential
cache (snapshot_svc.grpc_api.Authenticator.TTL) plus a margin."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from chartsnap_cli import exit_codes
from devstack.processes import Stack
from snapshot_svc.grpc_api import Authenticator
from tests.conftest import Peers, add_account, repo_root, unique_email
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

CHARTSNAP = repo_root() / ".venv" / "bin" / "chartsnap"
JOB_WAIT_S = 90
START_UP_S = 30               # a command's interpreter and imports, on a busy machine
CREDENTIAL_CACHE_MARGIN_S = 5.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHARE_LINK = re.compile(r"http://127\.0\.0\.1:\d+/s/[a-z0-9]{16}-(\d+)")


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHARTSNAP), *argv], env=env, capture_output=True, text=True,
                          timeout=JOB_WAIT_S + START_UP_S)


def client_env(stack: Stack, email: str, token: str, **extra: str) -> dict[str, str]:
    """What a user's shell holds: no service settings, only the gateway and the credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTSNAP_")}
    env.update(CHARTSNAP_URL=stack.gateway_url, CHARTSNAP_EMAIL=email, CHARTSNAP_TOKEN=token, **extra)
    return env


def admin_env(stack: Stack) -> dict[str, str]:
    """What an operator's shell holds: the snapshot service's own settings."""
    return {**os.environ, **stack.env}


@pytest.fixture(scope="module")
def cli(stack: Stack, account: tuple[str, str]) -> dict[str, str]:
    return client_env(stack, *account)


@pytest.fixture(scope="module")
def walk(cli: dict[str, str], api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The README's walk with the CLI only: a space, a chart, a sample, a snapshot saved to a file."""
    space = run(cli, "space", "create", f"CLI walk {time.time_ns()}", "--quiet")
    assert space.returncode == 0, space.stderr
    space_id = space.stdout.strip()
    chart = run(cli, "chart", "create", space_id, "--name", "CLI queue depth", "--metric", "cli.queue.depth", "-q")
    assert chart.returncode == 0, chart.stderr
    chart_id = chart.stdout.strip()
    now = int(time.time())
    for minutes_ago, value in ((40, 12), (20, 30), (1, 18)):
        sample = run(cli, "measurement", "add", "cli.queue.depth", str(value), "--tag", "host=web-1",
                     "--time", str(now - 60 * minutes_ago))
        assert sample.returncode == 0 and sample.stdout.startswith("stored cli.queue.depth = "), sample.stderr
    png = tmp_path_factory.mktemp("cli") / "queue.png"
    taken = run(cli, "snapshot", "create", chart_id, "--wait", "--output", str(png), "--timeout", str(JOB_WAIT_S),
                "--message", "from the CLI")
    return {"space_id": space_id, "chart_id": chart_id, "png": png, "taken": taken}


def test_version_is_the_package_version() -> None:
    from importlib import metadata

    done = subprocess.run([str(CHARTSNAP), "--version"], capture_output=True, text=True, timeout=START_UP_S)
    assert done.returncode == 0 and done.stdout == f"chartsnap {metadata.version('chartsnap')}\n"


def test_snapshot_create_wait_output_saves_the_png_and_prints_the_share_link(walk: dict, api: Api) -> None:
    taken = walk["taken"]
    assert taken.returncode == exit_codes.OK, taken.stderr
    link = taken.stdout.splitlines()[-1]
    match = SHARE_LINK.fullmatch(link)
    assert match, taken.stdout
    content = walk["png"].read_bytes()
    assert content.startswith(PNG_SIGNATURE) and len(content) > 2000
    assert Image.open(io.BytesIO(content)).size == (600, 416)
    assert f"saved {walk['png']} ({len(content)} bytes)" in taken.stdout
    # Not a terminal: plain progress lines on stderr, ending complete.
    progress = [line for line in taken.stderr.splitlines() if line.startswith("job ")]
    assert progress and progress[-1].endswith(": complete 100%"), taken.stderr
    assert "\r" not in taken.stderr
    snapshot = api.get(f"/v1/snapshots/{match[1]}").json()
    assert snapshot["share_href"] == link and requests.get(snapshot["image_href"], timeout=10).content == content
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and snapshot["image_href"] in page.text


def test_read_commands_in_both_forms(walk: dict, cli: dict[str, str]) -> None:
    assert walk["taken"].returncode == 0, walk["taken"].stderr
    listed = run(cli, "snapshot", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    newest = json.loads(listed.stdout)["snapshots"][0]
    assert str(newest["subject"]["chart"]["id"]) == walk["chart_id"]
    snapshot_id = str(newest["id"])

    got = run(cli, "snapshot", "get", snapshot_id, "--json")
    assert got.returncode == 0 and json.loads(got.stdout) == newest
    human = run(cli, "snapshot", "get", snapshot_id)
    assert f"link:     {newest['share_href']}" in human.stdout and f"snapshot: {snapshot_id}" in human.stdout
    table = run(cli, "snapshot", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "CREATED", "CHART", "TYPE", "DURATION", "LINK"]
    assert table[1].split()[:3] == [snapshot_id, newest["created_at"], walk["chart_id"]]

    job_id = newest["job_href"].rsplit("/", 1)[1]
    job = run(cli, "job", "get", job_id, "--json")
    assert job.returncode == 0 and json.loads(job.stdout)["state"] == "complete"
    assert re.search(r"^state:\s+complete$", run(cli, "job", "get", job_id).stdout, re.M)

    charts = run(cli, "chart", "list", "--json")
    assert charts.returncode == 0, charts.stderr
    spaces = {str(s["id"]): s for s in json.loads(charts.stdout)}
    [chart] = spaces[walk["space_id"]]["charts"]
    assert (str(chart["id"]), chart["name"], chart["streams"][0]["metric"]) == \
        (walk["chart_id"], "CLI queue depth", "cli.queue.depth")
    one_space = run(cli, "chart", "list", "--space", walk["space_id"], "--json")
    assert json.loads(one_space.stdout) == [chart]  # the API's bare array
    human_charts = run(cli, "chart", "list").stdout
    assert re.search(rf"^space {walk['space_id']}  CLI walk", human_charts, re.M)
    assert re.search(rf"^  {walk['chart_id']}\s+CLI queue depth\s+line\s+cli\.queue\.depth$", human_charts, re.M)


def test_service_add_and_a_real_test_delivery(walk: dict, cli: dict[str, str], peers: Peers) -> None:
    assert walk["taken"].returncode == 0, walk["taken"].stderr
    peers.slack.reset()
    args = [f"--setting={key}={value}" for key, value in peers.slack.settings().items()]
    added = run(cli, "service", "add", "--type", "slack", "--title", "CLI room", *args, "--quiet")
    assert added.returncode == 0, added.stderr
    service_id = added.stdout.strip()
    assert re.fullmatch(r"\d+", service_id)
    services = json.loads(run(cli, "service", "list", "--json").stdout)["services"]
    assert {"id": service_id, "title": "CLI room", "type": "slack", "settings": peers.slack.settings()} in services
    table = run(cli, "service", "list").stdout
    assert re.search(rf"^{service_id}\s+slack\s+CLI room$", table, re.M)
    assert peers.slack.secret not in table  # the webhook URL is a secret: only --json shows settings

    tested = run(cli, "service", "test", service_id, "--timeout", str(JOB_WAIT_S))
    assert tested.returncode == exit_codes.OK, tested.stderr
    lines = tested.stdout.splitlines()
    assert lines[0] == f"delivered to slack service {service_id} (1 attempt)" and SHARE_LINK.fullmatch(lines[-1])
    # The default chart is the account's most recently created one: the walk's.
    assert f"a snapshot of chart {walk['chart_id']} (CLI queue depth)" in tested.stderr
    [message] = peers.slack.messages
    assert "chartsnap test delivery" in json.dumps(message.body)


def test_a_failed_test_delivery_exits_5_with_the_vendors_words(walk: dict, cli: dict[str, str], peers: Peers) -> None:
    wrong = peers.slack.webhook_url.rsplit("/", 1)[0] + "/not-the-secret"
    added = run(cli, "service", "add", "--type", "slack", "--title", "Wrong secret", "--settings",
                json.dumps({"url": wrong}), "--json")
    assert added.returncode == 0, added.stderr
    service_id = json.loads(added.stdout)["id"]
    tested = run(cli, "service", "test", service_id, "--chart", walk["chart_id"], "--timeout", str(JOB_WAIT_S))
    assert tested.returncode == exit_codes.FAILED, (tested.stdout, tested.stderr)
    assert re.search(rf"^failed: slack service {service_id} after 1 attempt: .*invalid_token", tested.stdout, re.M)
    assert f"chartsnap: delivery to slack service {service_id} (Wrong secret) failed" in tested.stderr


def test_service_test_without_any_chart_says_so(stack: Stack) -> None:
    fresh = client_env(stack, *add_account(stack))
    done = run(fresh, "service", "test", "1")
    assert done.returncode == exit_codes.REFUSED  # no such service for this account: the API's 404
    added = run(fresh, "service", "add", "--type", "mail", "--title", "Inbox", "--setting",
                "addresses=team@example.com", "-q")
    done = run(fresh, "service", "test", added.stdout.strip())
    assert done.returncode == exit_codes.REFUSED and "you have no chart to take a test snapshot of" in done.stderr


def test_api_refusals_exit_1_with_the_apis_message(stack: Stack, account: tuple[str, str], cli: dict) -> None:
    wrong = run(client_env(stack, account[0], "0" * 64), "snapshot", "list")
    assert wrong.returncode == exit_codes.REFUSED
    assert wrong.stderr == "chartsnap: the API refused the request (401): Authorization failed\n"
    missing = run(cli, "snapshot", "get", "999999999")
    assert missing.returncode == exit_codes.REFUSED and "(404)" in missing.stderr
    bad = run(cli, "snapshot", "create", "1", "--type", "line", "--duration", "5")
    assert bad.returncode == exit_codes.REFUSED and "duration:" in bad.stderr and "Traceback" not in bad.stderr


def test_an_unreachable_gateway_exits_3(account: tuple[str, str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTSNAP_")}
    env.update(CHARTSNAP_EMAIL=account[0], CHARTSNAP_TOKEN=account[1])
    done = run(env, "--url", f"http://127.0.0.1:{port}", "chart", "list")
    assert done.returncode == exit_codes.UNREACHABLE
    assert done.stderr == f"chartsnap: cannot reach the gateway at http://127.0.0.1:{port}: connection refused\n"


def test_a_wait_that_runs_out_exits_4(walk: dict, cli: dict[str, str]) -> None:
    # The job is polled once; no render is over within a millisecond of its creation.
    done = run(cli, "snapshot", "create", walk["chart_id"], "--wait", "--timeout", "0.001")
    assert done.returncode == exit_codes.TIMED_OUT, (done.stdout, done.stderr)
    assert "not over after 0.001 s" in done.stderr and "chartsnap job get" in done.stderr


def _refused_within_the_credential_cache(gateway: str, email: str, token: str) -> float:
    """Seconds until the gateway answers 401 to these credentials; fails past the bound."""
    bound = Authenticator.TTL + CREDENTIAL_CACHE_MARGIN_S
    start = time.monotonic()
    while True:
        status = requests.get(f"{gateway}/v1/spaces", auth=(email, token), timeout=10).status_code
        if status == 401:
            return time.monotonic() - start
        assert status == 200, status
        assert time.monotonic() - start < bound, f"{email}'s token still accepted after {bound} s"
        time.sleep(0.2)  # a poll interval, not a synchronisation: the bound above decides


def test_user_add_rotate_and_disable_as_the_gateway_sees_them(stack: Stack) -> None:
    email = unique_email()
    added = run(admin_env(stack), "user", "add", email, "--name", "CLI Person", "--quiet")
    assert added.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", added.stdout), (added.stdout, added.stderr)
    old = added.stdout.strip()
    assert run(client_env(stack, email, old), "chart", "list").returncode == 0

    rotated = run(admin_env(stack), "user", "rotate-token", email)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != old
    _refused_within_the_credential_cache(stack.gateway_url, email, old)
    refused = run(client_env(stack, email, old), "chart", "list")
    assert refused.returncode == exit_codes.REFUSED and "(401): Authorization failed" in refused.stderr
    assert run(client_env(stack, email, new), "chart", "list").returncode == 0

    disabled = run(admin_env(stack), "user", "disable", email)
    assert disabled.returncode == 0 and disabled.stdout.startswith(f"disabled account {email}"), disabled.stderr
    _refused_within_the_credential_cache(stack.gateway_url, email, new)
    assert run(client_env(stack, email, new), "chart", "list").returncode == exit_codes.REFUSED

    accounts = json.loads(run(admin_env(stack), "user", "list", "--json").stdout)
    [mine] = [a for a in accounts if a["email"] == email]
    assert mine["name"] == "CLI Person" and mine["disabled_at"] is not None


def test_credentials_do_not_follow_a_redirect_to_another_host() -> None:
    """A gateway (or whatever answers at --url) that redirects elsewhere does not
    get the credentials sent there. Two local HTTP servers; no stack needed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chartsnap_cli.api_client import ApiClient
    from chartsnap_cli.settings import ClientSettings

    seen: dict[str, str | None] = {}

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen["elsewhere"] = self.headers.get("Authorization")
            body = b'{"query": {"found": 0}, "spaces": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere) as elsewhere:
        class Redirecting(Elsewhere):
            def do_GET(self) -> None:  # noqa: N802
                seen["gateway"] = self.headers.get("Authorization")
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{elsewhere.server_address[1]}/v1/spaces")
                self.send_header("Content-Length", "0")
                self.end_headers()

        with ThreadingHTTPServer(("127.0.0.1", 0), Redirecting) as gateway:
            for server in (elsewhere, gateway):
                threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                client = ApiClient(ClientSettings(f"http://127.0.0.1:{gateway.server_address[1]}", "a@b.c", "t0k"),
                                   timeout=10)
                assert client.get("/v1/spaces") == {"query": {"found": 0}, "spaces": []}
            finally:
                gateway.shutdown()
                elsewhere.shutdown()
    assert seen == {"gateway": "Basic YUBiLmM6dDBr", "elsewhere": None}
