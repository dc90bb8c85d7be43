"""What the notifier is asked to do: one snapshot to one configured service.

Built from the queue's DeliveryRequest by `delivery_messages`; nothing here
knows about NATS or protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Mapping

UNTITLED_CHART = "Untitled chart"


@dataclass(frozen=True)
class Delivery:
    delivery_id: str           # "<snapshot_id>:<service_id>", unique forever
    snapshot_id: int
    service_id: str
    type: str                  # mail | slack | hipchat | flowdock | campfire
    # The service's settings hold tokens and webhook URLs: kept out of repr so a
    # logged Delivery never carries them.
    settings: Mapping[str, str] = field(repr=False, default_factory=lambda: MappingProxyType({}))
    chart_name: str = ""
    chart_url: str = ""
    sender_name: str = ""
    sender_email: str = ""
    message: str = ""
    image_url: str = ""
    image_key: str = ""
    job_id: int = 0
    width: int = 0
    height: int = 0
    duration: int = 0          # seconds
    end_time: float = 0.0      # epoch seconds

    # Names are shown on one line everywhere (a headline, a subject): line
    # breaks inside them become spaces.
    @property
    def title(self) -> str:
        return " ".join(self.chart_name.split()) or UNTITLED_CHART

    @property
    def sender(self) -> str:
        return " ".join(self.sender_name.split()) or " ".join(self.sender_email.split()) or "someone"

    def setting(self, name: str, default: str = "") -> str:
        return (self.settings.get(name) or default).strip()

    @property
    def window(self) -> str:
        """The charted time span in words, e.g. "1 hour ending 2016-02-20 01:18 UTC"."""
        if not self.duration or not self.end_time:
            return ""
        end = datetime.fromtimestamp(self.end_time, tz=timezone.utc)
        return f"{_span(self.duration)} ending {end:%Y-%m-%d %H:%M} UTC"


def _span(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds} seconds"
