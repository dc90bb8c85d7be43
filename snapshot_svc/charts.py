"""Spaces and charts: validation and storage. Charts are plain dicts shaped
like the REST API's JSON; the gRPC adapter converts to and from protobuf."""

from __future__ import annotations

import math
import re
import time
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chartsnap import errors
from chartsnap.bounds import MAX_STREAMS, MAX_TAG_FILTERS, MAX_TAG_VALUES, MAX_THRESHOLDS
from chartsnap.charts import CHART_TYPES
from chartsnap.errors import ParamErrors
from snapshot_svc import stream_transforms
from snapshot_svc.database import NOT_STORABLE, storable, the_row
from snapshot_svc.measurements import METRIC_NAME
from snapshot_svc.pagination import Page
from snapshot_svc.tables import charts, spaces

GROUP_FUNCTIONS = ("average", "sum", "min", "max", "breakout")
SUMMARY_FUNCTIONS = ("average", "sum", "min", "max", "count")
DOWNSAMPLE_FUNCTIONS = ("average", "sum", "min", "max", "count")  # Librato's list; unset = the natural rollup
MAX_STREAM_PERIOD = 31_622_400  # a stream reporting less often than the longest window is never drawn
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
BODY_KEYS = ("streams", "thresholds", "min", "max", "label", "related_space", "use_last_value")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_stream(stream: dict, where: str, problems: ParamErrors) -> dict:
    if stream.get("composite"):
        problems.add(f"{where}.composite", "composite streams are not supported yet")
        return {}
    metric = stream.get("metric") or ""
    if not METRIC_NAME.fullmatch(metric):
        problems.add(f"{where}.metric", "is required: letters, digits and .:-_ up to 255 characters")
    out: dict[str, Any] = {"metric": metric.lower()}
    tags = []
    raw_tags = stream.get("tags") or []
    if len(raw_tags) > MAX_TAG_FILTERS:
        problems.add(f"{where}.tags", f"at most {MAX_TAG_FILTERS} tags per stream")
    for j, tag in enumerate(raw_tags[:MAX_TAG_FILTERS]):
        name = tag.get("name") or ""
        values = [v for v in tag.get("values") or [] if isinstance(v, str) and v]
        if len(values) > MAX_TAG_VALUES:
            problems.add(f"{where}.tags[{j}].values", f"at most {MAX_TAG_VALUES} values per tag")
        if not name:
            problems.add(f"{where}.tags[{j}].name", "is required")
        if not values and not tag.get("dynamic"):
            problems.add(f"{where}.tags[{j}].values", "must list at least one value or pattern")
        entry: dict[str, Any] = {"name": name, "values": values}
        if tag.get("grouped"):
            entry["grouped"] = True
        if tag.get("dynamic"):
            entry["dynamic"] = True
        tags.append(entry)
    if tags:
        out["tags"] = tags
    source = stream.get("source")
    if source not in (None, ""):
        out["source"] = source
    group = stream.get("group_function") or "average"
    if group not in GROUP_FUNCTIONS:
        problems.add(f"{where}.group_function", f"must be one of {', '.join(GROUP_FUNCTIONS)}")
    out["group_function"] = group
    summary = stream.get("summary_function") or "average"
    if summary not in SUMMARY_FUNCTIONS:
        problems.add(f"{where}.summary_function", f"must be one of {', '.join(SUMMARY_FUNCTIONS)}")
    out["summary_function"] = summary
    color = stream.get("color")
    if color not in (None, ""):
        if not isinstance(color, str) or not COLOR.match(color):
            problems.add(f"{where}.color", "must be #RRGGBB")
        out["color"] = color
    for key in ("name", "units_short", "units_long"):
        if stream.get(key) not in (None, ""):
            out[key] = str(stream[key])[:255]
            if not storable(out[key]):
                problems.add(f"{where}.{key}", NOT_STORABLE)
    _validate_stream_options(stream, where, problems, out)
    return out


def _validate_stream_options(stream: dict, where: str, problems: ParamErrors, out: dict[str, Any]) -> None:
    """The options of how a stream is drawn: downsample_function, min/max,
    period and transform_function (parsed now, so a chart never holds a
    formula its snapshots could not draw)."""
    downsample = stream.get("downsample_function")
    if downsample not in (None, ""):
        if downsample not in DOWNSAMPLE_FUNCTIONS:
            problems.add(f"{where}.downsample_function", f"must be one of {', '.join(DOWNSAMPLE_FUNCTIONS)}")
        out["downsample_function"] = downsample
    for key in ("min", "max"):
        if stream.get(key) is not None:
            if not _finite(stream[key]):
                problems.add(f"{where}.{key}", "must be a finite number")
            out[key] = stream[key]
    if _finite(out.get("min")) and _finite(out.get("max")) and out["min"] >= out["max"]:
        problems.add(f"{where}.max", "must be greater than min")
    period = stream.get("period")
    if period is not None:
        if not (isinstance(period, int) and not isinstance(period, bool) and 1 <= period <= MAX_STREAM_PERIOD):
            problems.add(f"{where}.period", f"must be a whole number of seconds from 1 to {MAX_STREAM_PERIOD}")
        out["period"] = period
    transform = stream.get("transform_function")
    if transform is not None and str(transform).strip():
        try:
            stream_transforms.parse(str(transform))
        except stream_transforms.TransformError as exc:
            problems.add(f"{where}.transform_function", str(exc))
        out["transform_function"] = str(transform)


def validate_chart(fields: dict, *, creating: bool, current: dict | None = None) -> dict:
    """Validated chart dict: `current` merged with the fields the client sent."""
    problems = ParamErrors()
    chart = dict(current or {"type": "line", "streams": [], "thresholds": [], "use_last_value": False})
    if "name" in fields or creating:
        name = (fields.get("name") or "").strip()
        if not name or len(name) > 255:
            problems.add("name", "is required (1 to 255 characters)")
        elif not storable(name):
            problems.add("name", NOT_STORABLE)
        chart["name"] = name
    if fields.get("type") not in (None, ""):
        if fields["type"] not in CHART_TYPES:
            problems.add("type", f"must be one of {', '.join(CHART_TYPES)}")
        chart["type"] = fields["type"]
    if "streams" in fields:
        streams = fields["streams"] or []
        if len(streams) > MAX_STREAMS:
            problems.add("streams", f"at most {MAX_STREAMS} streams per chart")
        chart["streams"] = [
            dict(validate_stream(s, f"streams[{i}]", problems), id=i + 1) for i, s in enumerate(streams[:MAX_STREAMS])
        ]
    if "thresholds" in fields:
        if len(fields["thresholds"] or []) > MAX_THRESHOLDS:
            problems.add("thresholds", f"at most {MAX_THRESHOLDS} thresholds per chart")
        out = []
        for i, t in enumerate(fields["thresholds"] or []):
            if t.get("operator") not in (">", "<", "="):
                problems.add(f"thresholds[{i}].operator", "must be >, < or =")
            if not _finite(t.get("value")):
                problems.add(f"thresholds[{i}].value", "must be a finite number")
            if t.get("type") not in ("red", "yellow"):
                problems.add(f"thresholds[{i}].type", "must be red or yellow")
            out.append({"operator": t.get("operator"), "value": t.get("value"), "type": t.get("type")})
        chart["thresholds"] = out
    for key in ("min", "max"):
        if key in fields:
            if fields[key] is not None and not _finite(fields[key]):
                problems.add(key, "must be a finite number")
            chart[key] = fields[key]
    if "label" in fields:
        chart["label"] = None if fields["label"] is None else str(fields["label"])[:255]
    if "related_space" in fields:
        chart["related_space"] = fields["related_space"]  # ownership checked by SpaceStore
    if "use_last_value" in fields:
        chart["use_last_value"] = bool(fields["use_last_value"])
    problems.raise_if_any()
    return chart


def _chart_out(row: Any) -> dict:
    body = dict(row.body)
    return {"id": row.id, "space_id": row.space_id, "name": row.name, "type": row.type, **body}


# Every snapshot reads its chart: the statement built once, its values bound at execution.
_ACCOUNTS_CHART = select(charts).where(charts.c.id == bindparam("b_chart_id"),
                                       charts.c.account_id == bindparam("b_account_id"))
_SPACES_CHART = _ACCOUNTS_CHART.where(charts.c.space_id == bindparam("b_space_id"))


class SpaceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- spaces -------------------------------------------------------------
    def create_space(self, account_id: int, name: str) -> dict:
        name = (name or "").strip()
        if not name or len(name) > 255:
            raise errors.InvalidParams.one("name", "is required (1 to 255 characters)")
        if not storable(name):
            raise errors.InvalidParams.one("name", NOT_STORABLE)
        try:
            with self.engine.begin() as conn:
                space_id = conn.execute(
                    insert(spaces).values(account_id=account_id, name=name, created_at=time.time())
                ).inserted_primary_key[0]
        except IntegrityError:
            raise errors.AlreadyExists(f"a space named {name!r} already exists") from None
        return {"id": space_id, "name": name, "chart_ids": []}

    def _space_row(self, conn: Any, account_id: int, space_id: int) -> Any:
        return the_row(conn, select(spaces).where(spaces.c.id == space_id, spaces.c.account_id == account_id),
                       "space")

    def get_space(self, account_id: int, space_id: int) -> dict:
        with self.engine.connect() as conn:
            row = self._space_row(conn, account_id, space_id)
            chart_ids = conn.execute(
                select(charts.c.id).where(charts.c.space_id == space_id).order_by(charts.c.id)
            ).scalars().all()
        return {"id": row.id, "name": row.name, "chart_ids": list(chart_ids)}

    def list_spaces(self, account_id: int, page: Page, name: str = "") -> tuple[int, int, list[dict]]:
        base = select(spaces).where(spaces.c.account_id == account_id)
        filtered = base.where(func.lower(spaces.c.name).contains(name.lower())) if name else base
        order = getattr(spaces.c, page.orderby)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
            found = conn.execute(select(func.count()).select_from(filtered.subquery())).scalar_one()
            rows = conn.execute(
                filtered.order_by(order.desc() if page.descending else order.asc())
                .offset(page.offset).limit(page.length)
            ).all()
        return found, total, [{"id": r.id, "name": r.name, "chart_ids": []} for r in rows]

    def update_space(self, account_id: int, space_id: int, name: str | None) -> dict:
        try:
            with self.engine.begin() as conn:
                self._space_row(conn, account_id, space_id)
                if name is not None:
                    name = name.strip()
                    if not name or len(name) > 255:
                        raise errors.InvalidParams.one("name", "is required (1 to 255 characters)")
                    if not storable(name):
                        raise errors.InvalidParams.one("name", NOT_STORABLE)
                    conn.execute(update(spaces).where(spaces.c.id == space_id).values(name=name))
        except IntegrityError:
            raise errors.AlreadyExists(f"a space named {name!r} already exists") from None
        return self.get_space(account_id, space_id)

    def delete_space(self, account_id: int, space_id: int) -> None:
        with self.engine.begin() as conn:
            self._space_row(conn, account_id, space_id)
            conn.execute(delete(charts).where(charts.c.space_id == space_id))
            conn.execute(delete(spaces).where(spaces.c.id == space_id))

    # -- charts -------------------------------------------------------------
    def _check_related_space(self, conn: Any, account_id: int, chart: dict) -> None:
        related = chart.get("related_space")
        if related is None:
            return
        try:
            self._space_row(conn, account_id, related)
        except errors.NotFound:
            raise errors.InvalidParams.one("related_space", f"no space {related}") from None

    def create_chart(self, account_id: int, space_id: int, fields: dict) -> dict:
        chart = validate_chart(fields, creating=True)
        with self.engine.begin() as conn:
            self._space_row(conn, account_id, space_id)
            self._check_related_space(conn, account_id, chart)
            chart_id = conn.execute(
                insert(charts).values(
                    account_id=account_id, space_id=space_id, name=chart["name"], type=chart["type"],
                    body={k: chart.get(k) for k in BODY_KEYS}, created_at=time.time(),
                )
            ).inserted_primary_key[0]
        return {"id": chart_id, "space_id": space_id, **chart}

    def list_charts(self, account_id: int, space_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            self._space_row(conn, account_id, space_id)
            rows = conn.execute(select(charts).where(charts.c.space_id == space_id).order_by(charts.c.id)).all()
        return [_chart_out(r) for r in rows]

    def get_chart(self, account_id: int, chart_id: int, space_id: int | None = None) -> dict:
        query, params = _ACCOUNTS_CHART, {"b_chart_id": chart_id, "b_account_id": account_id}
        if space_id is not None:
            query, params = _SPACES_CHART, {**params, "b_space_id": space_id}
        with self.engine.connect() as conn:
            return _chart_out(the_row(conn, query, "chart", params))

    def update_chart(self, account_id: int, space_id: int, chart_id: int, fields: dict) -> dict:
        current = self.get_chart(account_id, chart_id, space_id)
        chart = validate_chart(fields, creating=False, current=current)
        with self.engine.begin() as conn:
            self._check_related_space(conn, account_id, chart)
            conn.execute(
                update(charts).where(charts.c.id == chart_id).values(
                    name=chart["name"], type=chart["type"], body={k: chart.get(k) for k in BODY_KEYS}
                )
            )
        return chart

    def delete_chart(self, account_id: int, space_id: int, chart_id: int) -> None:
        self.get_chart(account_id, chart_id, space_id)
        with self.engine.begin() as conn:
            conn.execute(delete(charts).where(charts.c.id == chart_id))
