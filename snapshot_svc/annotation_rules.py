"""Librato annotations, the rules without the storage: what a stream name, an
event's title, times and links may be, and what a snapshot's `annotations`
option may name. Every failure is a field error naming the field.

Links are shown to people (the API echoes them, a client may render them as
anchors), so a link's href must be an absolute http(s) URL: a `javascript:`
or `data:` URL, or one with credentials in it, is refused, not stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from chartsnap.bounds import MAX_SNAPSHOT_ANNOTATIONS
from chartsnap.errors import ParamErrors

# Names follow the metric name rules (the contract); like metric names they
# are case insensitive, stored lower-cased.
STREAM_NAME = re.compile(r"[A-Za-z0-9.:\-_]{1,255}")
STREAM_NAME_RULE = "must be 1 to 255 characters: letters, digits and .:-_"
ALL_STREAMS = "*"  # a snapshot's annotations ["*"]: every stream of the account

MAX_TITLE = 255
MAX_DESCRIPTION = 10_000
MAX_SOURCE = 255
MAX_DISPLAY_NAME = 255
MAX_LINKS = 20          # links of one event
MAX_LINK_HREF = 2_000
MAX_LINK_TEXT = 255     # rel and label
MAX_SNAPSHOT_STREAMS = MAX_SNAPSHOT_ANNOTATIONS  # stream names one snapshot's `annotations` may list
MAX_ANNOTATIONS_PER_SNAPSHOT = 100  # events drawn on one snapshot, the earliest first
MAX_SOURCE_PATTERNS = 50  # sources[] patterns of one GET /v1/annotations/:name
# How long before a snapshot's window a span may have started and still be
# drawn (366 days, the longest window): the markers' query then reads a
# bounded range of the (stream, start_time) index, however old the stream.
MAX_SPAN_LOOKBACK = 31_622_400
LINK_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class AnnotationEvent:
    """One event as a snapshot draws it (`end` None: a point in time)."""

    stream: str
    title: str
    start: int
    end: int | None
    source: str


@dataclass(frozen=True)
class Link:
    rel: str
    href: str
    label: str = ""

    def as_json(self) -> dict:
        out = {"rel": self.rel, "href": self.href}
        if self.label:
            out["label"] = self.label
        return out


def stream_name(name: str, field: str, problems: ParamErrors) -> str:
    """`name` lower-cased, or "" with a field error."""
    if not isinstance(name, str) or not STREAM_NAME.fullmatch(name):
        problems.add(field, STREAM_NAME_RULE)
        return ""
    return name.lower()


def _no_nul(value: str) -> bool:
    # PostgreSQL's text columns cannot hold U+0000 (snapshot_svc.database.NOT_STORABLE).
    return "\x00" not in value


def bounded_text(value: str | None, field: str, most: int, problems: ParamErrors,
                 required: bool = False) -> str | None:
    """`value` stripped, None when absent or empty (unless required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add(field, "is required")
        return None
    if not isinstance(value, str):
        problems.add(field, "must be a string")
        return None
    value = value.strip()
    if len(value) > most:
        problems.add(field, f"must be at most {most} characters")
    elif not _no_nul(value):
        problems.add(field, "must not contain the NUL character (U+0000)")
    return value


def is_link_href(href: str) -> bool:
    """An absolute http(s) URL with a host and no user:password part, made of
    printable characters (no control character or space to hide a scheme)."""
    if not href or len(href) > MAX_LINK_HREF or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in href):
        return False
    try:
        parts = urlsplit(href)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(hostname) and "@" not in parts.netloc


def links(raw: list[dict] | None, problems: ParamErrors) -> list[Link]:
    """An event's links; each has rel and href, label is optional."""
    if not raw:
        return []
    if len(raw) > MAX_LINKS:
        problems.add("links", f"at most {MAX_LINKS} links per event")
        return []
    out: list[Link] = []
    for i, link in enumerate(raw):
        where = f"links[{i}]"
        rel = bounded_text(link.get("rel"), f"{where}.rel", MAX_LINK_TEXT, problems, required=True)
        href = bounded_text(link.get("href"), f"{where}.href", MAX_LINK_HREF, problems, required=True)
        label = bounded_text(link.get("label"), f"{where}.label", MAX_LINK_TEXT, problems)
        if href is not None and not is_link_href(href):
            problems.add(f"{where}.href", "must be an absolute http(s) URL without credentials")
        if rel and any(link.rel == rel for link in out):
            problems.add(f"{where}.rel", "must be unique within the event")
        elif rel and href:
            out.append(Link(rel, href, label or ""))
    return out


def source_patterns(patterns: tuple[str, ...], problems: ParamErrors) -> tuple[str, ...]:
    """The sources[] of a stream's read: Librato wildcards, bounded."""
    if len(patterns) > MAX_SOURCE_PATTERNS:
        problems.add("sources", f"at most {MAX_SOURCE_PATTERNS} source patterns")
        return ()
    for i, pattern in enumerate(patterns):
        if not pattern or len(pattern) > MAX_SOURCE or not _no_nul(pattern):
            problems.add(f"sources[{i}]", f"must be 1 to {MAX_SOURCE} characters")
    return patterns


def times(start: int, end: int | None, problems: ParamErrors) -> None:
    """start_time and end_time in epoch seconds; end_time not before start_time."""
    if start < 0:
        problems.add("start_time", "must be a time after 1970-01-01 (epoch seconds)")
    if end is not None and end < start:
        problems.add("end_time", "must not be before start_time")


def snapshot_streams(names: list[str], problems: ParamErrors, field: str = "annotations") -> list[str]:
    """A snapshot's `annotations` option: stream names, or ["*"] alone."""
    if len(names) > MAX_SNAPSHOT_STREAMS:
        problems.add(field, f"at most {MAX_SNAPSHOT_STREAMS} annotation streams")
        return []
    if ALL_STREAMS in names:
        if len(names) > 1:
            problems.add(field, 'must be stream names, or ["*"] alone')
        return [ALL_STREAMS]
    out: list[str] = []
    for i, name in enumerate(names):
        clean = stream_name(name, f"{field}[{i}]", problems)
        if clean and clean not in out:
            out.append(clean)
    return out
