"""chartsnap.logs: one JSON object per line, whatever the message quotes; the
log context on every line; CHARTSNAP_LOG_LEVEL/_FORMAT read like every
setting (a bad value is a SettingsError naming the variable)."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import datetime, timezone

import pytest

from chartsnap import logs, request_ids
from chartsnap.settings import SettingsError

pytestmark = pytest.mark.timeout(10)


def record(msg: str, *args: object, level: int = logging.INFO, exc_info=None,  # noqa: ANN001
           **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("chartsnap.test", level, __file__, 1, msg, args, exc_info)
    for name, value in extra.items():
        setattr(rec, name, value)
    return rec


def line(rec: logging.LogRecord, service: str = "gateway") -> dict:
    text = logs.JsonFormatter(service).format(rec)
    assert "\n" not in text and "\r" not in text
    assert text.isascii()
    return json.loads(text)


def test_a_line_holds_the_fields_every_service_writes():
    rec = record("snapshot %s rendered", 12)
    got = line(rec, "render_svc")
    assert list(got) == ["ts", "level", "service", "logger", "msg"]
    assert got["msg"] == "snapshot 12 rendered"
    assert (got["level"], got["service"], got["logger"]) == ("INFO", "render_svc", "chartsnap.test")
    assert got["ts"].endswith("Z")
    when = datetime.fromisoformat(got["ts"].replace("Z", "+00:00"))
    assert when.tzinfo == timezone.utc and abs(when.timestamp() - rec.created) < 0.001


def test_the_bound_context_is_on_the_line_and_extra_fields_after_it():
    with request_ids.bound(request_id="r-9", snapshot_id=12, job_id=13, delivery_id="12:4"):
        got = line(record("access", status=200, duration_ms=4.5))
    assert got["request_id"] == "r-9" and got["snapshot_id"] == 12 and got["job_id"] == 13
    assert got["delivery_id"] == "12:4" and got["status"] == 200 and got["duration_ms"] == 4.5
    assert "request_id" not in line(record("outside"))


def test_a_field_passed_explicitly_wins_but_never_over_our_own():
    with request_ids.bound(snapshot_id=1):
        got = line(record("x", snapshot_id=2))
    assert got["snapshot_id"] == 2
    rec = record("x")
    rec.__dict__["ts"] = "forged"      # a LogRecord attribute named like one of ours
    assert line(rec)["ts"] != "forged"


@pytest.mark.parametrize("hostile", ["two\nlines", "cr\rlf\r\n", "\u2028\u2029", "\x00\x1b[31m", "\"}{\"level\": \"x",
                                     "é🎉", "\ud800"])
def test_whatever_a_message_quotes_it_stays_one_line_of_json(hostile):
    got = line(record("got %s", hostile))
    assert got["msg"] == f"got {hostile}"


def test_an_exception_is_one_string_field():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        got = line(record("it failed", level=logging.ERROR, exc_info=sys.exc_info()))
    assert got["msg"] == "it failed"
    assert got["exc"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad\nthing" in got["exc"]


def test_values_json_cannot_hold_are_written_as_text():
    got = line(record("x", remote=object(), path=b"/v1"))
    assert got["remote"].startswith("<object") and got["path"] == "b'/v1'"


def test_text_lines_are_prose_with_the_context_appended():
    with request_ids.bound(request_id="r-1", snapshot_id=5):
        text = logs.TextFormatter("gateway").format(record("hello %s", "there"))
    assert text.endswith("gateway INFO chartsnap.test: hello there [request_id=r-1 snapshot_id=5]")


@pytest.mark.parametrize("environ, expected", [
    ({}, logs.LogSettings("INFO", "json")),
    ({"CHARTSNAP_LOG_LEVEL": "debug"}, logs.LogSettings("DEBUG", "json")),
    ({"CHARTSNAP_LOG_LEVEL": " Warning ", "CHARTSNAP_LOG_FORMAT": "TEXT"}, logs.LogSettings("WARNING", "text")),
    ({"CHARTSNAP_LOG_LEVEL": "", "CHARTSNAP_LOG_FORMAT": ""}, logs.LogSettings("INFO", "json")),
])
def test_settings(environ, expected):
    assert logs.LogSettings.from_env(environ) == expected


@pytest.mark.parametrize("name, value", [("LOG_LEVEL", "loud"), ("LOG_LEVEL", "WARN"), ("LOG_LEVEL", "10"),
                                         ("LOG_FORMAT", "logfmt")])
def test_a_bad_value_names_the_variable_and_the_values_allowed(name, value):
    with pytest.raises(SettingsError) as caught:
        logs.LogSettings.from_env({f"CHARTSNAP_{name}": value})
    text = str(caught.value)
    assert f"CHARTSNAP_{name}={value!r}" in text
    allowed = logs.LEVELS if name == "LOG_LEVEL" else logs.FORMATS
    assert all(word in text for word in allowed)


def test_failure_words_are_never_empty():
    assert logs.failure(TimeoutError()) == "TimeoutError"
    assert logs.failure(ConnectionError("  ")) == "ConnectionError"
    assert logs.failure(OSError("no route")) == "OSError: no route"


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    sys.excepthook, threading.excepthook = saved[2], saved[3]
    logging.captureWarnings(False)


def test_configure_sends_every_line_warnings_and_uncaught_exceptions_as_json(restored_logging, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logs.configure_from_env("snapshot_svc", {"CHARTSNAP_LOG_LEVEL": "warning"})
    logging.getLogger("some.library").info("below the level")
    logging.getLogger("some.library").warning("kept")
    import warnings
    warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
    thread = threading.Thread(target=lambda: 1 / 0, name="worker-1")
    thread.start()
    thread.join()
    lines = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [entry["msg"] for entry in lines][0] == "kept"
    assert any("deprecated thing" in entry["msg"] for entry in lines)
    crash = next(entry for entry in lines if entry["logger"] == "chartsnap.uncaught")
    assert crash["msg"] == "uncaught exception in worker-1" and "ZeroDivisionError" in crash["exc"]
    assert all(entry["service"] == "snapshot_svc" for entry in lines)


def test_a_bad_level_still_leaves_logging_configured_to_say_so(restored_logging, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with pytest.raises(SettingsError, match="CHARTSNAP_LOG_LEVEL"):
        logs.configure_from_env("gateway", {"CHARTSNAP_LOG_LEVEL": "chatty"})
    logging.getLogger("chartsnap.service_main").critical("gateway cannot start")
    assert json.loads(stream.getvalue())["msg"] == "gateway cannot start"


def test_a_service_refused_at_start_names_every_bad_variable_in_one_line(restored_logging, monkeypatch):
    from chartsnap.service_main import START_REFUSED_EXIT, run_service

    def read_settings() -> None:
        raise SettingsError("invalid configuration:\n  CHARTSNAP_GATEWAY_ADDR='bad' is not host:port")

    async def never_started(settings: object) -> None:
        raise AssertionError("started")

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("CHARTSNAP_LOG_LEVEL", "loud")
    with pytest.raises(SystemExit) as exited:
        run_service("gateway", read_settings, never_started)
    assert exited.value.code == START_REFUSED_EXIT
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["level"] == "CRITICAL" and line["msg"].startswith("gateway cannot start: invalid configuration:")
    assert "CHARTSNAP_LOG_LEVEL='loud'" in line["msg"] and "CHARTSNAP_GATEWAY_ADDR='bad'" in line["msg"]


def test_the_text_format_cannot_be_split_or_forged_by_what_a_message_quotes() -> None:
    """A percent-decoded path may hold CR, LF, ESC or U+2028: in the text format
    they are written as escapes, so one event stays one line; a traceback
    still follows on lines of its own."""
    formatter = logs.TextFormatter("gateway")
    forged = "/v1/x\n2026-12-02 gateway CRITICAL forged\r\x1b[31m\u2028"
    line = formatter.format(logging.LogRecord("gateway.access", logging.INFO, __file__, 1, "GET %s", (forged,), None))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
    assert line.endswith("GET /v1/x\\n2026-12-02 gateway CRITICAL forged\\r\\x1b[31m\\u2028")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    first, *rest = formatter.format(record).split("\n")
    assert first.endswith("failed") and rest[0] == "Traceback (most recent call last):"
