"""The one interface every destination type implements, and the two ways a
delivery attempt can fail. The class of the exception decides what happens
next: a TransientDeliveryError is retried, a PermanentDeliveryError is not."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from notifier_svc.delivery import Delivery


class DeliveryError(Exception):
    """An attempt failed; `message` is what the caller will read (no secrets)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientDeliveryError(DeliveryError):
    """Worth another attempt: connection trouble, timeouts, 5xx, 429/503.
    `retry_after` is the peer's own Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Another attempt would fail the same way: bad credentials, a missing
    room, a refused payload, a setting that cannot work."""


@dataclass
class Attempt:
    """What one attempt gets besides the delivery.

    `steps_done` carries over between attempts of the same delivery: a
    destination that needs several requests (Campfire speaks twice) records
    each step once it has landed, so a retry resumes instead of repeating it."""

    number: int
    png: bytes | None = None
    steps_done: set[str] = field(default_factory=set)
    # time.monotonic() by which the attempt must be over (None: only the
    # per-request timeouts apply); a notifier making several requests
    # bounds each by what is left.
    deadline: float | None = None


class Notifier(ABC):
    type: str
    needs_png: bool = False            # mail attaches the image; chat types link to it
    secret_settings: tuple[str, ...] = ()   # settings never to show in errors or logs

    @abstractmethod
    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        """Deliver once. Returns a remark for the record ("" when there is
        nothing to add), raises TransientDeliveryError or PermanentDeliveryError."""

    def credential_pairs(self, delivery: Delivery) -> tuple[tuple[str, str], ...]:
        """(user, password) pairs this notifier sends encoded (HTTP Basic), so
        the scrubber can hunt their encodings too."""
        return ()

    async def close(self) -> None:
        """Release connections; the default has none."""
