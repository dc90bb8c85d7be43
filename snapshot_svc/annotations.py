"""Librato annotation streams and their events: storage (SQLAlchemy). The
rules (names, titles, times, links) live in `annotation_rules`; a snapshot
reads its markers here (`events_in_window`), after checking the names it was
given (`unknown_stream_names`)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.exc import IntegrityError

from chartsnap.errors import ParamErrors
from snapshot_svc import annotation_rules as rules
from snapshot_svc.annotation_rules import (
    ALL_STREAMS,
    MAX_ANNOTATIONS_PER_SNAPSHOT,
    AnnotationEvent,
)
from snapshot_svc.tables import annotation_events, annotation_streams

__all__ = ["AnnotationEvent", "AnnotationStore", "MAX_ANNOTATIONS_PER_SNAPSHOT"]


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
        `start`; one without, when it starts inside the window."""
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


def _overlapping(start: int, end: int) -> Any:
    ev = annotation_events.c
    return and_(ev.start_time <= end, or_(
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
