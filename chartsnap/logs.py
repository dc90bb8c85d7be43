"""One log format for every service: JSON lines on stderr, one object per
event, so `jq` or a log shipper reads every service alike and one request can
be followed across them by its `request_id`.

Each line holds `ts` (RFC 3339, UTC), `level`, `service`, `logger`, `msg`; then
the log context bound where the line was written (chartsnap.request_ids:
`request_id`, `snapshot_id`, `job_id`, `delivery_id`), any `extra=` fields the
call passed, and `exc`: the exception and its traceback as one string. JSON
escapes every control character and non-ASCII character, so one event is
always exactly one line, whatever text it quotes.

CHARTSNAP_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR, CRITICAL; default INFO) and
CHARTSNAP_LOG_FORMAT (json, the default; or text, a line per event for people
reading a terminal) are read like every setting: a bad value stops the service
at start-up, naming the variable."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType

from chartsnap import request_ids
from chartsnap.settings import EnvReader, SettingsError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("json", "text")
# Third-party chatter that would drown our own lines.
NOISY_LOGGERS = ("urllib3", "selenium", "asyncio", "aiosqlite")
# What every LogRecord has; any other attribute came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_OWN_FIELDS = ("ts", "level", "service", "logger", "msg", "exc")


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    format: str = "json"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "LogSettings":
        """Raises SettingsError naming CHARTSNAP_LOG_LEVEL or CHARTSNAP_LOG_FORMAT
        and the values allowed."""
        env = EnvReader(environ)
        level = env.str("LOG_LEVEL", cls.level).upper()
        if level not in LEVELS:
            env.problems.append(f"{env.PREFIX}LOG_LEVEL={env.str('LOG_LEVEL', '')!r} is not a log level "
                                f"(one of {', '.join(LEVELS)})")
            level = cls.level
        log_format = env.str("LOG_FORMAT", cls.format).lower()
        if log_format not in FORMATS:
            env.problems.append(f"{env.PREFIX}LOG_FORMAT={env.str('LOG_FORMAT', '')!r} is not a log format "
                                f"(one of {', '.join(FORMATS)})")
            log_format = cls.format
        env.finish()
        return cls(level, log_format)


def rfc3339(created: float) -> str:
    return datetime.fromtimestamp(created, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def extra_fields(record: logging.LogRecord) -> dict:
    """The fields a call passed with `extra=` (none may replace our own)."""
    return {name: value for name, value in vars(record).items()
            if name not in _RECORD_ATTRIBUTES and name not in _OWN_FIELDS}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {"ts": rfc3339(record.created), "level": record.levelname, "service": self.service,
                      "logger": record.name, "msg": record.getMessage()}
        line.update(request_ids.current())
        line.update(extra_fields(record))   # a field passed explicitly wins over the context's
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# What could end or fake a line in the text format: a message may quote what a
# user sent (a percent-decoded path holds any byte).
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with every control character written as an escape (\\n, \\x1b, ...)."""
    return _LINE_BREAKERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the old prose line, the context appended.
    The line itself is always one line; only a traceback follows it."""

    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return one_line(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = {**request_ids.current(), **extra_fields(record)}
        if not context:
            return text
        first, newline, rest = text.partition("\n")
        pairs = one_line(" ".join(f"{name}={value}" for name, value in context.items()))
        return f"{first} [{pairs}]{newline}{rest}"


def formatter(service: str, log_format: str) -> logging.Formatter:
    return TextFormatter(service) if log_format == "text" else JsonFormatter(service)


def configure(service: str, settings: LogSettings = LogSettings()) -> None:
    """Every line of this process through one handler on stderr, in the
    settings' format; warnings and uncaught exceptions too, as lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(service, settings.format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback,
                                                      getattr(args.thread, "name", "a thread"))


def _log_uncaught(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
                  where: str = "the main thread") -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)  # type: ignore[arg-type]
        return
    logging.getLogger("chartsnap.uncaught").critical("uncaught exception in %s", where,
                                                     exc_info=(exc_type, exc, tb))  # type: ignore[arg-type]


def configure_from_env(service: str, environ: dict[str, str] | None = None) -> None:
    """configure() as CHARTSNAP_LOG_* say; a bad value is logged (in the
    default format) and raised as SettingsError."""
    try:
        settings = LogSettings.from_env(dict(os.environ if environ is None else environ))
    except SettingsError:
        configure(service)
        raise
    configure(service, settings)


def failure(exc: BaseException) -> str:
    """Why something failed, in words that are never empty: the exception's
    message, or its type when it has none (a bare TimeoutError)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
