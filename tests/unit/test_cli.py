"""chartsnap_cli: arguments, settings, error words and exit codes, without a network.

The commands against a real stack are tests/e2e/test_cli.py."""

from __future__ import annotations

import argparse
import io

import pytest

from chartsnap.settings import SettingsError
from chartsnap_cli import exit_codes, main as cli
from chartsnap_cli.api_client import BadAnswer, HttpError, Unreachable, basic_authorization, error_words, http_error
from chartsnap_cli.commands import CliError
from chartsnap_cli.job_wait import WaitTimedOut
from chartsnap_cli.settings import DEFAULT_URL, client_settings
from snapshot_svc import admin_cli


def parse(*argv: str) -> argparse.Namespace:
    return cli.parser().parse_args(list(argv))


# -- arguments ------------------------------------------------------------------

def test_snapshot_create_takes_every_option() -> None:
    args = parse("snapshot", "create", "12", "--type", "stacked", "--duration", "90m", "--end-time",
                 "2026-12-02T07:00:00Z", "--service", "3", "--service", "04", "--message", "after the deploy",
                 "--wait", "--output", "x.png", "--timeout", "30")
    assert (args.command, args.action, args.chart_id, args.type) == ("snapshot", "create", "12", "stacked")
    assert args.duration == 5400 and args.end_time == 1796194800
    assert args.service == ["3", "4"] and args.message == "after the deploy"
    assert args.wait and args.output == "x.png" and args.timeout == 30.0


@pytest.mark.parametrize("text, seconds", [("3600", 3600), ("60s", 60), ("90m", 5400), ("1h", 3600), ("7d", 604800)])
def test_durations(text: str, seconds: int) -> None:
    assert cli.duration(text) == seconds


@pytest.mark.parametrize("text, epoch", [("1796194800", 1796194800), ("2026-12-02T07:00:00Z", 1796194800),
                                          ("2026-12-02T08:00:00+01:00", 1796194800),
                                          ("2026-12-02T07:00:00", 1796194800)])
def test_end_times(text: str, epoch: int) -> None:
    assert cli.moment(text) == epoch


@pytest.mark.parametrize("argv", [
    ("snapshot", "create", "abc"), ("snapshot", "create", "0"), ("snapshot", "create", "-1"),
    ("snapshot", "create", "1", "--type", "pie"), ("snapshot", "create", "1", "--duration", "1y"),
    ("snapshot", "create", "1", "--end-time", "yesterday"), ("snapshot", "create", "1", "--service", "x"),
    ("snapshot", "create", "1", "--timeout", "0"), ("snapshot", "get"), ("job", "get", "1e3"),
    ("service", "add", "--type", "slack", "--title", "T"),  # settings are required
    ("service", "add", "--type", "slack", "--title", "T", "--setting", "url"),  # not KEY=VALUE
    ("service", "add", "--type", "slack", "--title", "T", "--setting", "a=b", "--settings", "{}"),
    ("measurement", "add", "cpu", "nan"), ("chart", "create", "1", "--name", "N"),  # no metric
    ("frobnicate",), (),
])
def test_usage_errors_exit_2_without_a_request(argv: tuple[str, ...], capsys: pytest.CaptureFixture) -> None:
    # No credentials and no gateway: a usage error must be found before either is needed.
    assert cli.main(list(argv)) == exit_codes.USAGE
    assert "usage:" in capsys.readouterr().err


def test_connection_options_go_before_or_after_the_command() -> None:
    before = parse("--url", "http://gw:1", "--json", "snapshot", "list")
    after = parse("snapshot", "list", "--url", "http://gw:1", "--json")
    assert before.url == after.url == "http://gw:1" and before.json and after.json
    neither = parse("snapshot", "list")
    assert not hasattr(neither, "url") and not hasattr(neither, "json")


def test_version_is_the_installed_distribution(capsys: pytest.CaptureFixture) -> None:
    from importlib import metadata

    assert cli.main(["--version"]) == exit_codes.OK
    assert capsys.readouterr().out.strip() == f"chartsnap {metadata.version('chartsnap')}"


def test_help_lists_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["--help"]) == exit_codes.OK
    out = capsys.readouterr().out
    for command in ("snapshot", "job", "space", "chart", "measurement", "service", "user", "db"):
        assert f"    {command}" in out
    for code, meaning in exit_codes.MEANINGS.items():
        assert f"  {code}  {meaning}" in out


# -- settings -------------------------------------------------------------------

def test_settings_from_flags_over_the_environment() -> None:
    env = {"CHARTSNAP_URL": "http://env:8080/", "CHARTSNAP_EMAIL": "env@example.com", "CHARTSNAP_TOKEN": "t-env"}
    assert client_settings(environ=env) == client_settings(None, None, None, env)
    from_env = client_settings(environ=env)
    assert (from_env.url, from_env.email, from_env.token) == ("http://env:8080", "env@example.com", "t-env")
    flags = client_settings("http://flag:1", "flag@example.com", "t-flag", env)
    assert (flags.url, flags.email, flags.token) == ("http://flag:1", "flag@example.com", "t-flag")
    assert client_settings(environ={"CHARTSNAP_EMAIL": "a@b.c", "CHARTSNAP_TOKEN": "t"}).url == DEFAULT_URL
    assert "t-env" not in repr(from_env)


def test_missing_credentials_and_bad_urls_are_named_together() -> None:
    with pytest.raises(SettingsError) as info:
        client_settings(environ={"CHARTSNAP_URL": "file:///etc/passwd"})
    message = str(info.value)
    assert "CHARTSNAP_URL='file:///etc/passwd'" in message
    assert "--email or set CHARTSNAP_EMAIL" in message and "--token or set CHARTSNAP_TOKEN" in message
    with pytest.raises(SettingsError, match=r"--url='ftp://x' is not an http"):
        client_settings("ftp://x", "a@b.c", "t", {})


def test_missing_credentials_exit_2(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHARTSNAP_URL", "CHARTSNAP_EMAIL", "CHARTSNAP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["snapshot", "list"]) == exit_codes.USAGE
    assert "no API token: pass --token or set CHARTSNAP_TOKEN" in capsys.readouterr().err


def test_basic_authorization() -> None:
    assert basic_authorization("a@example.com", "t0k") == "Basic YUBleGFtcGxlLmNvbTp0MGs="


# -- the API's error words --------------------------------------------------------

def test_error_words_from_each_kind_of_error() -> None:
    assert error_words({"errors": {"request": ["Authorization failed"]}}) == "Authorization failed"
    assert error_words({"errors": {"params": {"duration": ["must be a whole number"], "type": ["is required"]}}}) \
        == "duration: must be a whole number; type: is required"
    assert error_words({"errors": {"system": ["Service temporarily unavailable, retry later"]}}) \
        == "Service temporarily unavailable, retry later"
    assert error_words({"no": "errors"}) == "" and error_words({"errors": "odd"}) == ""


def test_http_errors_keep_the_api_words_or_say_the_status() -> None:
    refused = http_error(401, "Unauthorized", b'{"errors": {"request": ["Authorization failed"]}}')
    assert (refused.status, refused.message, refused.transient, refused.retry_after) == \
        (401, "Authorization failed", False, None)
    html = http_error(502, "Bad Gateway", b"<html>proxy</html>")
    assert html.message == "HTTP 502 Bad Gateway" and html.body is None
    limited = http_error(429, "Too Many Requests", b"{}", "7")
    assert limited.transient and limited.retry_after == 7.0
    assert http_error(503, "", b"", None).retry_after == 5.0  # the gateway's default


# -- exit codes -------------------------------------------------------------------

@pytest.mark.parametrize("error, code, words", [
    (HttpError(401, "Authorization failed"), exit_codes.REFUSED, "refused the request (401): Authorization failed"),
    (HttpError(404, "Not found"), exit_codes.REFUSED, "(404): Not found"),
    (HttpError(503, "Service temporarily unavailable"), exit_codes.SERVER_ERROR, "the API failed (503)"),
    (Unreachable("cannot reach the gateway at http://x: connection refused"), exit_codes.UNREACHABLE,
     "connection refused"),
    (BadAnswer("the gateway at http://x answered something that is not JSON"), exit_codes.SERVER_ERROR, "not JSON"),
    (WaitTimedOut({"state": "working"}, 30.0), exit_codes.TIMED_OUT, "not over after 30 s (last seen: working)"),
    (CliError(exit_codes.FAILED, "delivery failed"), exit_codes.FAILED, "delivery failed"),
    (SettingsError("invalid configuration: CHARTSNAP_RENDER_TIMEOUT='x'"), exit_codes.USAGE, "RENDER_TIMEOUT"),
])
def test_each_expected_failure_has_its_exit_code_and_no_traceback(
        error: Exception, code: int, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def command(args, client, io):  # noqa: ANN001, ANN202 - stands in for any command
        raise error

    monkeypatch.setitem(cli.COMMANDS, ("snapshot", "list"), command)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["snapshot", "list", "--email", "a@example.com", "--token", "t"], out, err) == code
    assert words in err.getvalue() and err.getvalue().startswith("chartsnap: ")
    assert "Traceback" not in err.getvalue() and out.getvalue() == ""


def test_exit_codes_are_distinct_and_each_documented() -> None:
    codes = [exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE, exit_codes.UNREACHABLE, exit_codes.TIMED_OUT,
             exit_codes.FAILED, exit_codes.SERVER_ERROR]
    assert codes == list(range(7)) and list(exit_codes.MEANINGS) == codes


def test_the_admin_commands_exit_with_the_same_numbers() -> None:
    # snapshot_svc.admin_cli keeps its own copy so that the service needs nothing of the client.
    assert (admin_cli.OK, admin_cli.REFUSED, admin_cli.USAGE, admin_cli.UNREACHABLE) == \
        (exit_codes.OK, exit_codes.REFUSED, exit_codes.USAGE, exit_codes.UNREACHABLE)


def test_admin_commands_are_handed_to_the_snapshot_service(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["user", "--help"]) == exit_codes.OK
    out = capsys.readouterr().out
    for action in ("add", "list", "rotate-token", "disable"):
        assert action in out
    assert cli.main(["user", "frobnicate"]) == exit_codes.USAGE
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    assert cli.main(["db", "--help"]) == exit_codes.OK
    assert "upgrade" in capsys.readouterr().out
    # Options before the command are read by the API commands' parser; --json is passed on.
    assert cli.main(["--json", "user", "add", "x@example.com"]) == exit_codes.USAGE  # add takes no --json
    assert "unrecognized arguments: --json" in capsys.readouterr().err


def test_the_timeout_help_says_the_default_the_wait_uses(capsys: pytest.CaptureFixture) -> None:
    from chartsnap_cli.job_wait import default_timeout

    assert cli.main(["snapshot", "create", "--help"]) == exit_codes.OK
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default {default_timeout({}):g}: " in help_text
    from snapshot_svc.settings import JobBounds

    assert (cli.DEFAULT_JOB_DEADLINE_S, cli.DEFAULT_SWEEP_INTERVAL_S) == \
        (JobBounds().job_deadline, JobBounds().sweep_interval)


def test_output_must_name_a_file_in_a_directory_that_exists(tmp_path, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    # Refused before any request: the gateway named here does not exist.
    base = ["snapshot", "create", "1", "--type", "line", "--url", "http://127.0.0.1:1", "--email", "a@b.c",
            "--token", "t"]
    assert cli.main([*base, "--output", str(tmp_path)]) == exit_codes.USAGE
    assert "is a directory; name the file" in capsys.readouterr().err
    assert cli.main([*base, "--output", str(tmp_path / "missing" / "x.png")]) == exit_codes.USAGE
    assert "no such directory" in capsys.readouterr().err


def test_json_of_another_shape_is_an_unusable_answer_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def command(args, client, io):  # noqa: ANN001, ANN202 - a command reading an answer of the wrong shape
        return {"not": "a snapshot"}["id"]

    monkeypatch.setitem(cli.COMMANDS, ("snapshot", "list"), command)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["snapshot", "list", "--email", "a@example.com", "--token", "t"], out, err) == \
        exit_codes.SERVER_ERROR
    assert "is --url / CHARTSNAP_URL a chartsnap gateway?" in err.getvalue() and "Traceback" not in err.getvalue()


def test_only_http_image_links_are_downloaded() -> None:
    from chartsnap_cli.api_client import ApiClient
    from chartsnap_cli.settings import ClientSettings

    client = ApiClient(ClientSettings("http://127.0.0.1:1", "a@b.c", "t"))
    for link in ("file:///etc/passwd", "ftp://example.com/x.png", "data:image/png;base64,AAAA"):
        with pytest.raises(BadAnswer, match="not an http"):
            client.download(link)


def test_an_absolute_href_from_the_api_is_followed_on_the_gateway_given() -> None:
    """The API's hrefs are built on the server's public URL, which may name
    another host or scheme: the credentials still go only to --url."""
    from chartsnap_cli.api_client import ApiClient
    from chartsnap_cli.settings import ClientSettings

    client = ApiClient(ClientSettings("http://127.0.0.1:8080", "a@b.c", "t"))
    assert client.url("/v1/jobs/7") == "http://127.0.0.1:8080/v1/jobs/7"
    assert client.url("http://public.example/v1/jobs/7?x=1") == "http://127.0.0.1:8080/v1/jobs/7?x=1"
    assert client.url("https://evil.example:444/v1/snapshots/3") == "http://127.0.0.1:8080/v1/snapshots/3"
