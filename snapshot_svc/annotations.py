"""Librato annotation streams and their events: storage (SQLAlchemy). The
rules (names, titles, times, links) live in `annotation_rules`; a snapshot
reads its markers here (`events_in_window`), after checking the names it was
given (`unknown_stream_names`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from chartsnap import errors
from chartsnap.errors import ParamErrors
from snapshot_svc import annotation_rules as rules
from snapshot_svc.annotation_rules import (
    ALL_STREAMS,
    MAX_ANNOTATIONS_PER_SNAPSHOT,
    AnnotationEvent,
)
from snapshot_svc.database import the_row
from snapshot_svc.pagination import Page
from snapshot_svc.tables import annotation_events, annotation_streams

__all__ = ["AnnotationEvent", "AnnotationStore", "EventChange", "EventWindow", "MAX_ANNOTATIONS_PER_SNAPSHOT"]


class AnnotationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- what a snapshot reads ------------------------------------------------
    def unknown_stream_names(self, account_id: int, names: list[str]) -> list[str]:
        """The names in `names` that are not streams of the account, as given
        (names compare case-insensitively); "*" is never unknown."""
        wanted = {n.lower() for n in names if n != ALL_STREAMS}
        if not wanted:
            return []
        with self.engine.connect() as conn:
            known = set(conn.execute(select(annotation_streams.c.name).where(
                annotation_streams.c.account_id == account_id,
                annotation_streams.c.name.in_(sorted(wanted)))).scalars())
        return [n for n in names if n != ALL_STREAMS and n.lower() not in known]

    def events_in_window(self, account_id: int, names: list[str], start: int, end: int,
                         limit: int = MAX_ANNOTATIONS_PER_SNAPSHOT) -> list[AnnotationEvent]:
        """The events of the named streams (["*"]: every stream of the account)
        that overlap [start, end], earliest first, at most `limit`. An event
        with an end time overlaps when it starts by `end` and ends after
        `start` (and started at most MAX_SPAN_LOOKBACK before it); one
        without, when it starts inside the window."""
        if not names or limit <= 0:
            return []
        query = (
            select(annotation_streams.c.name, annotation_events.c.title, annotation_events.c.start_time,
                   annotation_events.c.end_time, annotation_events.c.source)
            .join(annotation_streams, annotation_events.c.stream_id == annotation_streams.c.id)
            .where(annotation_streams.c.account_id == account_id, _overlapping(start, end))
        )
        if ALL_STREAMS not in names:
            query = query.where(annotation_streams.c.name.in_(sorted({n.lower() for n in names})))
        query = query.order_by(annotation_events.c.start_time, annotation_events.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AnnotationEvent(stream=r.name, title=r.title, start=int(r.start_time),
                                end=None if r.end_time is None else int(r.end_time), source=r.source or "")
                for r in rows]

    # -- the annotations API ----------------------------------------------------
    def create_event(self, account_id: int, name: str, title: str | None, start_time: int | None = None,
                     end_time: int | None = None, description: str | None = None, source: str | None = None,
                     links: list[dict] | None = None, now: float | None = None) -> dict:
        """A new event in stream `name` (the stream made on first use): the event as the API shows it."""
        now = time.time() if now is None else now
        problems = ParamErrors()
        stream = rules.stream_name(name, "name", problems)
        clean_title = rules.bounded_text(title, "title", rules.MAX_TITLE, problems, required=True)
        clean_description = rules.bounded_text(description, "description", rules.MAX_DESCRIPTION, problems)
        clean_source = rules.bounded_text(source, "source", rules.MAX_SOURCE, problems)
        clean_links = rules.links(links, problems)
        start = int(now) if start_time is None else start_time
        rules.times(start, end_time, problems)
        problems.raise_if_any()
        values = dict(title=clean_title, description=clean_description, source=clean_source,
                      start_time=start, end_time=end_time, links=[link.as_json() for link in clean_links],
                      created_at=now)
        try:
            row = self._insert_event(account_id, stream, values, now)
        except IntegrityError:  # two first events at once: the other call made the stream; it is there now
            row = self._insert_event(account_id, stream, values, now)
        return event_json(row)

    def _insert_event(self, account_id: int, stream: str, values: dict, now: float) -> Any:
        with self.engine.begin() as conn:
            stream_id = conn.execute(select(annotation_streams.c.id).where(
                annotation_streams.c.account_id == account_id, annotation_streams.c.name == stream)).scalar()
            if stream_id is None:
                stream_id = conn.execute(annotation_streams.insert().values(
                    account_id=account_id, name=stream, created_at=now)).inserted_primary_key[0]
            new_id = conn.execute(annotation_events.insert().values(stream_id=stream_id, **values)
                                  ).inserted_primary_key[0]
            return conn.execute(select(annotation_events).where(annotation_events.c.id == new_id)).one()


    # -- streams --------------------------------------------------------------
    def list_streams(self, account_id: int, page: Page, name: str = "") -> tuple[int, int, list[dict]]:
        """(found, total, streams): the account's streams whose name contains `name`, a page of them."""
        st = annotation_streams.c
        base = select(annotation_streams).where(st.account_id == account_id)
        filtered = base.where(st.name.contains(name.lower(), autoescape=True)) if name else base
        order = getattr(st, page.orderby)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            found = conn.execute(select(func.count()).select_from(filtered.subquery())).scalar_one()
            rows = conn.execute(filtered.order_by(order.desc() if page.descending else order.asc(), st.id)
                                .offset(page.offset).limit(page.length)).all()
        return found, total, [stream_json(r) for r in rows]

    def get_stream(self, account_id: int, name: str, window: EventWindow, page: Page,
                   now: float | None = None) -> dict:
        """The stream with a page of its events (start times inside the window,
        from the given sources, earliest first) and the page's counts. As
        Librato's time intervals: a window with a start and no end ends now."""
        problems = ParamErrors()
        rules.source_patterns(window.sources, problems)
        if window.start is not None and window.end is None:
            window = replace(window, end=int(time.time() if now is None else now))
        if window.start is not None and window.end is not None and window.end < window.start:
            problems.add("end_time", "must not be before start_time")
        problems.raise_if_any()
        ev = annotation_events.c
        with self.engine.connect() as conn:
            stream = self._stream_row(conn, account_id, name)
            base = select(annotation_events).where(ev.stream_id == stream.id)
            filtered = base.where(*_window_filter(window))
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            found = conn.execute(select(func.count()).select_from(filtered.subquery())).scalar_one()
            rows = conn.execute(filtered.order_by(ev.start_time, ev.id).offset(page.offset)
                                .limit(page.length)).all()
        out = stream_json(stream)
        out["events"] = [event_json(r) for r in rows]
        out["query"] = {"found": found, "length": len(rows), "offset": page.offset, "total": total}
        return out

    def update_stream(self, account_id: int, name: str, display_name: str | None,
                      description: str | None) -> dict:
        """Sets what is given (an empty string clears it)."""
        problems = ParamErrors()
        values: dict[str, Any] = {}
        if display_name is not None:
            values["display_name"] = rules.bounded_text(display_name, "display_name", rules.MAX_DISPLAY_NAME,
                                                        problems)
        if description is not None:
            values["description"] = rules.bounded_text(description, "description", rules.MAX_DESCRIPTION,
                                                       problems)
        problems.raise_if_any()
        with self.engine.begin() as conn:
            stream = self._stream_row(conn, account_id, name)
            if values:
                conn.execute(update(annotation_streams).where(annotation_streams.c.id == stream.id).values(**values))
            return stream_json(conn.execute(select(annotation_streams)
                                            .where(annotation_streams.c.id == stream.id)).one())

    def delete_stream(self, account_id: int, name: str) -> None:
        """The stream and every event in it."""
        with self.engine.begin() as conn:
            stream = self._stream_row(conn, account_id, name)
            # Explicitly, not through ON DELETE CASCADE: SQLite connections
            # made without foreign keys on would leave the events behind.
            conn.execute(delete(annotation_events).where(annotation_events.c.stream_id == stream.id))
            conn.execute(delete(annotation_streams).where(annotation_streams.c.id == stream.id))

    # -- one event --------------------------------------------------------------
    def get_event(self, account_id: int, name: str, event_id: int) -> dict:
        with self.engine.connect() as conn:
            return event_json(self._event_row(conn, account_id, name, event_id))

    def update_event(self, account_id: int, name: str, event_id: int, change: EventChange) -> dict:
        """Librato's updatable fields: title, description, end_time, links (and
        start_time, source here too); what is None stays as it is."""
        problems = ParamErrors()
        values: dict[str, Any] = {}
        if change.title is not None:
            values["title"] = rules.bounded_text(change.title, "title", rules.MAX_TITLE, problems, required=True)
        if change.description is not None:
            values["description"] = rules.bounded_text(change.description, "description", rules.MAX_DESCRIPTION,
                                                       problems)
        if change.source is not None:
            values["source"] = rules.bounded_text(change.source, "source", rules.MAX_SOURCE, problems)
        if change.links is not None:
            values["links"] = [link.as_json() for link in rules.links(change.links, problems)]
        problems.raise_if_any()
        with self.engine.begin() as conn:
            row = self._event_row(conn, account_id, name, event_id)
            start = row.start_time if change.start_time is None else change.start_time
            end = row.end_time if change.end_time is None else change.end_time
            if change.clear_end_time:
                end = None
            rules.times(start, end, problems)
            problems.raise_if_any()
            values.update(start_time=start, end_time=end)
            conn.execute(update(annotation_events).where(annotation_events.c.id == row.id).values(**values))
            return event_json(conn.execute(select(annotation_events).where(annotation_events.c.id == row.id)).one())

    def delete_event(self, account_id: int, name: str, event_id: int) -> None:
        with self.engine.begin() as conn:
            row = self._event_row(conn, account_id, name, event_id)
            conn.execute(delete(annotation_events).where(annotation_events.c.id == row.id))

    def add_link(self, account_id: int, name: str, event_id: int, link: dict) -> dict:
        """One more link on an event; its rel must be new to the event."""
        problems = ParamErrors()
        [made] = rules.links([link], problems) or [None]
        problems.raise_if_any()
        with self.engine.begin() as conn:
            row = self._event_row(conn, account_id, name, event_id)
            current = list(row.links or [])
            if any(existing.get("rel") == made.rel for existing in current):
                raise errors.AlreadyExists(f"the event already has a link with rel {made.rel!r}")
            if len(current) >= rules.MAX_LINKS:
                raise errors.InvalidParams.one("links", f"at most {rules.MAX_LINKS} links per event")
            conn.execute(update(annotation_events).where(annotation_events.c.id == row.id)
                         .values(links=current + [made.as_json()]))
        return made.as_json()

    def delete_link(self, account_id: int, name: str, event_id: int, rel: str) -> None:
        with self.engine.begin() as conn:
            row = self._event_row(conn, account_id, name, event_id)
            current = list(row.links or [])
            kept = [link for link in current if link.get("rel") != rel]
            if len(kept) == len(current):
                raise errors.NotFound("link not found")
            conn.execute(update(annotation_events).where(annotation_events.c.id == row.id).values(links=kept))

    # -- rows -------------------------------------------------------------------
    @staticmethod
    def _stream_row(conn: Any, account_id: int, name: str) -> Any:
        if not isinstance(name, str) or not rules.STREAM_NAME.fullmatch(name):
            raise errors.NotFound("annotation stream not found")  # not a name we could have made
        return the_row(conn, select(annotation_streams).where(
            annotation_streams.c.account_id == account_id, annotation_streams.c.name == name.lower()),
            "annotation stream")

    def _event_row(self, conn: Any, account_id: int, name: str, event_id: int) -> Any:
        stream = self._stream_row(conn, account_id, name)
        return the_row(conn, select(annotation_events).where(
            annotation_events.c.stream_id == stream.id, annotation_events.c.id == event_id), "annotation")


@dataclass(frozen=True)
class EventWindow:
    """Which of a stream's events GET /v1/annotations/:name answers: start
    times in [start, end] (None: unbounded), sources matching any pattern."""

    start: int | None = None
    end: int | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventChange:
    """An event update; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    source: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    clear_end_time: bool = False
    links: list[dict] | None = None


def _like(pattern: str) -> str:
    """A Librato wildcard (`*` any run of characters) as a LIKE pattern, the rest literal."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _window_filter(window: EventWindow) -> list[Any]:
    ev = annotation_events.c
    where: list[Any] = []
    if window.start is not None:
        where.append(ev.start_time >= window.start)
    if window.end is not None:
        where.append(ev.start_time <= window.end)
    if window.sources:
        where.append(or_(*(ev.source.like(_like(p), escape="\\") for p in window.sources)))
    return where


def stream_json(row: Any) -> dict:
    return {"name": row.name, "display_name": row.display_name, "description": row.description}


def _overlapping(start: int, end: int) -> Any:
    ev = annotation_events.c
    return and_(ev.start_time <= end, ev.start_time >= start - rules.MAX_SPAN_LOOKBACK, or_(
        and_(ev.end_time.is_(None), ev.start_time >= start),
        ev.end_time > start,
    ))


def event_json(row: Any) -> dict:
    """An event as Librato's API shows it."""
    return {
        "id": int(row.id),
        "title": row.title,
        "description": row.description,
        "source": row.source,
        "start_time": int(row.start_time),
        "end_time": None if row.end_time is None else int(row.end_time),
        "links": list(row.links or []),
    }
