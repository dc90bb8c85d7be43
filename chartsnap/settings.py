"""Reading CHARTSNAP_* variables into frozen settings objects, failing fast.

Each service declares one frozen dataclass and builds it once at start-up with
`EnvReader`; a bad value stops the process with a message naming the variable."""

from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse


class SettingsError(Exception):
    """A CHARTSNAP_* variable is missing or malformed."""


@dataclass(frozen=True)
class NatsLogin:
    """Who a service is to NATS: its own user and password, from the
    environment or a file (never from the command line). Empty = anonymous,
    which a server with authorization refuses."""

    user: str = ""
    password: str = field(default="", repr=False)  # kept out of logs


@dataclass(frozen=True)
class NatsSettings:
    """How a service reaches NATS (CHARTSNAP_NATS_*): the servers of one
    cluster (the client picks one and reconnects to another live one), its
    login, and how many copies JetStream keeps of every stream and key-value
    bucket the services create (1 on a single server, 3 on a 3-node cluster)."""

    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    login: NatsLogin = NatsLogin()
    replicas: int = 1


MAX_NATS_REPLICAS = 5  # JetStream's own ceiling on a stream's replicas


@dataclass(frozen=True)
class S3Settings:
    """The image bucket and how to reach it (CHARTSNAP_S3_*), the same for
    every service that stores or reads images. The defaults are `make run`'s."""

    endpoint: str = "127.0.0.1:9000"   # host:port
    access_key: str = "chartsnap"
    secret_key: str = field(default="chartsnap-local-secret", repr=False)  # kept out of logs
    bucket: str = "chartsnap"
    secure: bool = False               # https to the endpoint


# What a service's drain timeout (CHARTSNAP_<SERVICE>_DRAIN_TIMEOUT: the most
# it may take from SIGTERM to its exit, chartsnap.service_main) keeps for
# closing its connections, browsers and listeners once the work in flight has
# ended; the rest is the work's grace.
STOP_ALLOWANCE_S = 5.0
# Of that allowance, what a service's closing steps (its connections, browsers,
# background tasks) may take together, each what is left of it; the rest is a
# margin for the interpreter's exit.
CLOSE_BUDGET_S = STOP_ALLOWANCE_S - 1.5
# The deadline the gateway gives every gRPC call (CHARTSNAP_RPC_TIMEOUT), which
# also bounds what the snapshot service's calls in flight may still take.
DEFAULT_RPC_TIMEOUT_S = 10.0


def default_drain_timeout(work_s: float) -> float:
    """A drain timeout that lets work in flight taking up to `work_s` finish, then close."""
    return work_s + STOP_ALLOWANCE_S


def work_grace(drain_timeout: float) -> float:
    """Of a drain timeout, the seconds work in flight gets before it is cancelled."""
    return max(0.0, drain_timeout - STOP_ALLOWANCE_S)


def is_host_port(value: str) -> bool:
    """`host:port`: a name, an IPv4 address (`0.0.0.0` for every interface) or
    an IPv6 address in brackets (`[::]`, `[fd00::2]`). A bare IPv6 address is
    refused: `fd00::2:9102` could be either address and port."""
    host, sep, port = value.rpartition(":")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return False
    return bool(sep and host.strip("[]") and port.isdigit() and 0 <= int(port) <= 65535)


def split_host_port(address: str) -> tuple[str, int]:
    """A `host:port` (is_host_port) as the host to bind or connect to and
    the port; an IPv6 address without its brackets (`[::]:9102` → `::`),
    as socket calls take it."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


# The names asked for inside `names_asked()`, or None outside it.
_ASKED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("chartsnap_names_asked", default=None)


@contextlib.contextmanager
def names_asked() -> Iterator[set[str]]:
    """Every CHARTSNAP_* name an EnvReader is asked for while the block runs,
    set or not: building a service's settings inside it lists the variables
    that service reads, without running it (tests/deploy/test_manifest_env.py
    holds the manifests to them)."""
    names: set[str] = set()
    token = _ASKED.set(names)
    try:
        yield names
    finally:
        _ASKED.reset(token)


class EnvReader:
    PREFIX = "CHARTSNAP_"

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        asked = _ASKED.get()
        if asked is not None:
            asked.add(self.PREFIX + name)
        value = self.environ.get(self.PREFIX + name)
        return None if value is None or value.strip() == "" else value.strip()

    def str(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def _parsed(self, name: str, parse: Callable[[str], Any], what: str) -> Any:
        """The variable through `parse`; None when unset or when it does not
        parse (then a problem naming `what` it should be is noted)."""
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{self.PREFIX}{name}={raw!r} is not {what}")
            return None

    def int(self, name: str, default: int, *, lo: int | None = None, hi: int | None = None) -> int:
        value = self._parsed(name, int, "an integer")
        if value is None:
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.problems.append(f"{self.PREFIX}{name}={value} must be within [{lo}, {hi}]")
        return value

    def choice(self, name: str, default: int, choices: tuple[int, ...]) -> int:
        """An integer that must be one of `choices`."""
        value = self._parsed(name, int, "an integer")
        if value is None:
            return default
        if value not in choices:
            self.problems.append(f"{self.PREFIX}{name}={value} must be one of {', '.join(map(str, choices))}")
        return value

    def float(self, name: str, default: float, *, lo: float | None = None) -> float:
        value = self._parsed(name, float, "a number")
        if value is None:
            return default
        if lo is not None and value < lo:
            self.problems.append(f"{self.PREFIX}{name}={value} must be ≥ {lo}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{self.PREFIX}{name}={raw!r} is not a boolean (true/false)")
        return default

    def address(self, name: str, default: str) -> str:
        """host:port (is_host_port)"""
        value = self.str(name, default)
        if not is_host_port(value):
            self.problems.append(f"{self.PREFIX}{name}={value!r} is not host:port")
        return value

    def drain_timeout(self, name: str, work_s: float) -> float:
        """Seconds from SIGTERM to exit (default: work taking `work_s`, then the closing)."""
        return self.float(name, default_drain_timeout(work_s), lo=1.0)

    def addresses(self, name: str, default: str) -> tuple[str, ...]:
        """One host:port or several separated by commas."""
        value = self.str(name, default)
        found = tuple(part.strip() for part in value.split(",") if part.strip())
        for address in found:
            if not is_host_port(address):
                self.problems.append(f"{self.PREFIX}{name}: {address!r} is not host:port")
        if not found:
            self.problems.append(f"{self.PREFIX}{name} names no address")
        return found

    def url(self, name: str, default: str) -> str:
        value = self.str(name, default).rstrip("/")
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https", "nats", "tls") or not parsed.netloc:
            self.problems.append(f"{self.PREFIX}{name}={value!r} is not an absolute URL")
        return value

    def path(self, name: str, default: Path) -> Path:
        raw = self._raw(name)
        return Path(raw).expanduser().resolve() if raw else default.resolve()

    def nats_login(self) -> NatsLogin:
        """CHARTSNAP_NATS_USER with CHARTSNAP_NATS_PASSWORD, or with
        CHARTSNAP_NATS_PASSWORD_FILE (a file holding only the password, e.g. a
        mounted Kubernetes Secret)."""
        user = self.str("NATS_USER", "")
        password = self.str("NATS_PASSWORD", "")
        password_file = self.str("NATS_PASSWORD_FILE", "")
        if password and password_file:
            self.problems.append(f"{self.PREFIX}NATS_PASSWORD and {self.PREFIX}NATS_PASSWORD_FILE are both set")
        elif password_file:
            try:
                password = Path(password_file).expanduser().read_text().strip()
            except OSError as exc:
                self.problems.append(f"{self.PREFIX}NATS_PASSWORD_FILE={password_file!r} cannot be read: "
                                     f"{exc.strerror}")
        if bool(user) != bool(password):
            self.problems.append(f"{self.PREFIX}NATS_USER and its password must be set together")
        return NatsLogin(user, password)

    def nats(self) -> NatsSettings:
        """CHARTSNAP_NATS_URL (one URL, or several separated by commas: the
        servers of one cluster), the login, CHARTSNAP_NATS_REPLICAS."""
        raw = self.str("NATS_URL", NatsSettings.servers[0])
        servers = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
        for server in servers:
            parsed = urlparse(server)
            if parsed.scheme not in ("nats", "tls") or not parsed.netloc:
                self.problems.append(f"{self.PREFIX}NATS_URL: {server!r} is not a nats:// or tls:// URL")
        if not servers:
            self.problems.append(f"{self.PREFIX}NATS_URL names no server")
        return NatsSettings(servers or NatsSettings.servers, self.nats_login(),
                            self.int("NATS_REPLICAS", 1, lo=1, hi=MAX_NATS_REPLICAS))

    def s3(self) -> S3Settings:
        default = S3Settings()
        return S3Settings(
            endpoint=self.address("S3_ENDPOINT", default.endpoint),
            access_key=self.str("S3_ACCESS_KEY", default.access_key),
            secret_key=self.str("S3_SECRET_KEY", default.secret_key),
            bucket=self.str("S3_BUCKET", default.bucket),
            secure=self.bool("S3_SECURE", default.secure),
        )

    def data_dir(self) -> Path:
        return self.path("DATA_DIR", Path("var"))

    def finish(self) -> None:
        """Raise one SettingsError listing every problem found."""
        if self.problems:
            raise SettingsError("invalid configuration:\n  " + "\n  ".join(self.problems))
