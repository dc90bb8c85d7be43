"""Request ids and the log context: what every log line about one request
carries, in every service.

A request id is taken from the client's `X-Request-Id` when it is sane (1 to
MAX_LENGTH characters of [A-Za-z0-9._:-]) and otherwise made at the gateway;
anything else a client sends is dropped, never echoed or logged, so a header
cannot inject into a log or a response. It travels as gRPC metadata
(GRPC_METADATA_KEY) on every call the gateway makes, and as a NATS header
(NATS_HEADER) on every message about a snapshot; each hop checks it again.

The log context is one context variable: the fields (CONTEXT_FIELDS) known
about the work at hand, read by chartsnap.logs' formatter. asyncio copies it
into every task and `asyncio.to_thread` call, so a value bound while handling
a request or a message follows that work and nothing else."""

from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar
from types import MappingProxyType
from typing import Iterator, Mapping

HTTP_HEADER = "X-Request-Id"
GRPC_METADATA_KEY = "x-request-id"     # gRPC metadata keys are lower case
NATS_HEADER = "Chartsnap-Request-Id"
MAX_LENGTH = 64                        # snapshots.request_id is String(64)
SANE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")

# What a line may say about the work it is part of, in this order.
CONTEXT_FIELDS = ("request_id", "snapshot_id", "job_id", "delivery_id")

ContextValue = str | int
_EMPTY: Mapping[str, ContextValue] = MappingProxyType({})
_context: ContextVar[Mapping[str, ContextValue]] = ContextVar("chartsnap_log_context", default=_EMPTY)


def sane(value: object) -> str | None:
    """`value` if it is a request id we may carry and log; else None."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str) and SANE.fullmatch(value):
        return value
    return None


def new() -> str:
    return uuid.uuid4().hex


def from_client(value: object) -> str:
    """The client's id if sane, else a new one (the client's is then ignored)."""
    return sane(value) or new()


def current() -> Mapping[str, ContextValue]:
    """The fields bound in this context (read-only)."""
    return _context.get()


def current_request_id() -> str | None:
    value = _context.get().get("request_id")
    return value if isinstance(value, str) else None


def _merged(fields: dict[str, ContextValue | None]) -> Mapping[str, ContextValue]:
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"not a log context field: {', '.join(sorted(unknown))}")
    merged = dict(_context.get())
    # Unknown values (None, 0, "") leave what is bound: a message without a
    # header does not erase the id its handler already knows.
    merged.update({name: value for name, value in fields.items() if value not in (None, "", 0)})
    return MappingProxyType(merged)


def bind(**fields: ContextValue | None) -> None:
    """Bind fields for the rest of this context: the current task (or
    thread) and whatever it starts from now on."""
    _context.set(_merged(fields))


@contextlib.contextmanager
def bound(**fields: ContextValue | None) -> Iterator[None]:
    """Bind fields for the block only."""
    token = _context.set(_merged(fields))
    try:
        yield
    finally:
        _context.reset(token)


def context_of(message: object) -> dict[str, ContextValue]:
    """The log context a message names (a render or delivery request or
    result): whichever of snapshot_id, job_id, delivery_id it has."""
    return {name: value for name in CONTEXT_FIELDS[1:] if (value := getattr(message, name, None))}


def grpc_metadata() -> tuple[tuple[str, str], ...]:
    """The request id as gRPC metadata, when one is bound."""
    request_id = current_request_id()
    return ((GRPC_METADATA_KEY, request_id),) if request_id else ()


def nats_headers() -> dict[str, str]:
    """The request id as a NATS header, when one is bound."""
    request_id = current_request_id()
    return {NATS_HEADER: request_id} if request_id else {}


def from_nats_headers(headers: Mapping[str, str] | None) -> str | None:
    """The sane request id a message carries, if any."""
    return sane((headers or {}).get(NATS_HEADER))
