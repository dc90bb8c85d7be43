"""What the notifier is asked to do: one snapshot to one configured service.

Built from the queue's DeliveryRequest by `delivery_messages`; nothing here
knows about NATS or protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from types import MappingProxyType
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chartsnap.snapshot_options import timezone_problem

UNTITLED_CHART = "Untitled chart"
# The one-line data summary is one line of a message: longer ones are cut
# (the snapshot service writes them far shorter).
MAX_SUMMARY = 300
ELLIPSIS = "…"


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
    # One line about the data ("queue.depth peaked at 4,210 at 14:32 UTC, ...");
    # "" when the snapshot service sent none: every message reads as before.
    summary: str = ""
    timezone: str = ""         # IANA zone the message's times are shown in ("" = UTC)

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
    def summary_line(self) -> str:
        """The data summary on one line (line breaks and runs of spaces
        become one space), at most MAX_SUMMARY characters; "" when none."""
        words = " ".join(self.summary.split())
        return words if len(words) <= MAX_SUMMARY else words[: MAX_SUMMARY - 1].rstrip() + ELLIPSIS

    @property
    def zone(self) -> tzinfo:
        """Where the message's times are read: the snapshot's zone, UTC when
        it has none or names one this host does not know (a message is
        never refused over how it shows a time)."""
        name = self.timezone.strip()
        if not name or name == "UTC" or timezone_problem(name) is not None:
            return timezone.utc
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.utc

    @property
    def window(self) -> str:
        """The charted time span in words, e.g. "1 hour ending 2016-02-20 01:18 UTC",
        or in the snapshot's zone "1 hour ending 2016-02-19 20:18 EST (America/New_York)"."""
        if not self.duration or not self.end_time:
            return ""
        zone = self.zone
        end = datetime.fromtimestamp(self.end_time, tz=zone)
        return f"{_span(self.duration)} ending {end:%Y-%m-%d %H:%M} {zone_label(end, zone)}"


def zone_label(moment: datetime, zone: tzinfo) -> str:
    """"UTC"; else the zone's abbreviation at that moment and its name
    ("EST (America/New_York)"), the UTC offset where the zone has no
    abbreviation ("UTC-03:00 (America/Sao_Paulo)")."""
    if zone is timezone.utc:
        return "UTC"
    abbreviation = moment.tzname() or ""
    if not abbreviation[:1].isalpha():
        offset = moment.strftime("%z")  # +HHMM
        abbreviation = f"UTC{offset[:3]}:{offset[3:]}"
    return f"{abbreviation} ({zone})"


def _span(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds} seconds"
