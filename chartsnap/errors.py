"""Domain errors. Each carries what the client needs to see; `status_table` maps
them to gRPC codes and the gateway maps those to HTTP statuses.

Nothing here imports grpc: domain code raises these and adapters translate."""

from __future__ import annotations


class ChartsnapError(Exception):
    """Base of every error a caller may see. `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParams(ChartsnapError):
    """One or more fields are invalid: {"errors": {"params": {field: [msg]}}}."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k} {', '.join(v)}" for k, v in fields.items()))
        self.fields = fields

    @classmethod
    def one(cls, field: str, message: str) -> "InvalidParams":
        return cls({field: [message]})


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
