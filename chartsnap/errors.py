"""Domain errors. Each carries what the client needs to see; `status_table` maps
them to gRPC codes and the gateway maps those to HTTP statuses.

Nothing here imports grpc: domain code raises these and adapters translate."""

from __future__ import annotations

from chartsnap import bounds


class ChartsnapError(Exception):
    """Base of every error a caller may see. `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParams(ChartsnapError):
    """One or more fields are invalid: {"errors": {"params": {field: [msg]}}}."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        fields = bounded_fields(fields)
        super().__init__(_clip("; ".join(f"{k} {', '.join(v)}" for k, v in fields.items()), bounds.MAX_MESSAGE_CHARS))
        self.fields = fields

    @classmethod
    def one(cls, field: str, message: str) -> "InvalidParams":
        return cls({field: [message]})


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def bounded_fields(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """At most MAX_ERROR_FIELDS fields, each with at most MAX_FIELD_MESSAGES
    short messages; what is left out is counted under MORE_FIELD. A reply
    about 10,000 bad samples stays a few kilobytes."""
    out: dict[str, list[str]] = {}
    items = list(fields.items())
    for field, messages in items[: bounds.MAX_ERROR_FIELDS]:
        kept = [_clip(str(m), bounds.MAX_MESSAGE_CHARS) for m in messages[: bounds.MAX_FIELD_MESSAGES]]
        if len(messages) > bounds.MAX_FIELD_MESSAGES:
            kept.append(f"and {len(messages) - bounds.MAX_FIELD_MESSAGES} more")
        out.setdefault(_clip(str(field), bounds.MAX_FIELD_NAME_CHARS), []).extend(kept)
    left_out = len(items) - bounds.MAX_ERROR_FIELDS
    if left_out > 0:
        out[bounds.MORE_FIELD] = [f"and {left_out} more fields with errors"]
    return out


class InvalidRequest(ChartsnapError):
    """The request as a whole is bad: {"errors": {"request": [msg]}}."""


class Unauthenticated(ChartsnapError):
    pass


class NotFound(ChartsnapError):
    pass


class AlreadyExists(ChartsnapError):
    pass


class Unavailable(ChartsnapError):
    """A dependency (queue, store) is down; the client may retry later."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ParamErrors:
    """Collects field errors while validating, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise InvalidParams(self.fields)
