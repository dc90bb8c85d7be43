"""What a render needs, read once when the snapshot is taken: the chart's
streams resolved to series over the window, bucketed to about one point per
two pixel columns in widths the rollups serve (rollup_rules.resolution_for), each drawn as
its stream's options say, plus the bignumber summary. The result travels in the RenderRequest, so the
render service needs no database.

A stream's options, as Librato documents them and as they are drawn here:

- `summary_function` picks which statistic of each stored sample is read (its
  average, sum, min, max or count; a plain value is a sample of count 1);
- `downsample_function` says how the samples inside one bucket combine
  (average, sum, min, max; count = how many samples). Left unset, each
  statistic rolls up the natural way, as Librato's roll-ups do: sums and
  counts add, min and max keep the extreme, the average is sum over count;
- `period` (seconds between the stream's samples) makes the stream's buckets
  no finer than it: the smallest whole multiple of the chart's bucket that is
  at least the period, so the stream's points stay on the chart's grid;
- `transform_function` (snapshot_svc.stream_transforms) is applied to every
  drawn point, after bucketing and grouping, with p = the seconds the point
  covers (the stream's bucket); a point without a finite result is a gap;
- `name` labels the stream's line (a breakout's lines: the name, then each
  one's tag values); `color` colours an aggregated line, or a breakout of one
  line (several lines take the palette: one colour for all could not be read);
- `min` / `max` are the stream's theoretical bounds: they set the y axis where
  the chart sets none, when every drawn stream sets that bound — the lowest
  min and the highest max; on a stacked chart the stack's bounds, the sums
  over its lines (a minimum above zero counting as zero);
- `units_short` is the y axis' tick suffix when every stream that sets one
  agrees (different units on one axis would mislabel some), and the big
  number's units; `units_long` is the axis label when the chart has none
  (different ones joined with " / ").

An option the stream leaves unset takes the metric's own attribute, as
Librato's charts do: display_units_short, display_units_long, display_min,
display_max, display_transform, color, summarize_function (how the metric
rolls up: the stream's downsample_function) and the metric's period."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sqlalchemy import Connection

from chartsnap import errors
from chartsnap.v1 import render_pb2
from snapshot_svc import stream_transforms
from snapshot_svc.measurements import MeasurementStore, combine, summarise
from snapshot_svc.rollup_rules import resolution_for

logger = logging.getLogger(__name__)

MAX_SERIES_PER_CHART = 40
MAX_LABEL = 255


def stream_resolution(resolution: int, period: int | None) -> int:
    """A stream's bucket: the chart's, or for a stream reporting less often,
    the smallest whole multiple of it that covers the stream's period."""
    if not period or period <= resolution:
        return resolution
    return resolution * math.ceil(period / resolution)


def _filters(stream: dict, narrowing: dict) -> list[tuple[str, list[str]]]:
    filters = [
        (t["name"], t["values"]) for t in stream.get("tags", []) if t.get("values") and not t.get("dynamic")
    ]
    source = stream.get("source")
    if source and source != "*":
        filters.append(("source", [source]))
    filters += [(t["name"], t["values"]) for t in narrowing.get("tags") or [] if t.get("values")]
    if narrowing.get("source") and narrowing["source"] != "*":
        filters.append(("source", [narrowing["source"]]))
    return filters


# A metric attribute and the stream option it is the default of.
METRIC_DEFAULTS = {
    "display_units_short": "units_short", "display_units_long": "units_long", "display_min": "min",
    "display_max": "max", "display_transform": "transform_function", "color": "color",
    "summarize_function": "downsample_function",
}


def with_metric_defaults(stream: dict, period: int | None, attributes: dict) -> dict:
    """The stream with every option it leaves unset taken from its metric's
    period and attributes."""
    out = dict(stream)
    for attribute, option in METRIC_DEFAULTS.items():
        if out.get(option) in (None, "") and attributes.get(attribute) not in (None, ""):
            out[option] = attributes[attribute]
    if not out.get("period") and period:
        out["period"] = period
    return out


def _breakout_label(stream: dict, tags: dict[str, str]) -> str:
    values = ", ".join(tags[k] for k in sorted(tags))
    name = stream.get("name")
    if name:
        return f"{name}: {values}" if values else name
    return values or stream["metric"]


def _transform(stream: dict) -> stream_transforms.Transform | None:
    text = stream.get("transform_function")
    if not text or not str(text).strip():
        return None
    try:
        return stream_transforms.parse(str(text))
    except stream_transforms.TransformError as exc:
        # Charts are checked when saved; this one was saved before that check.
        logger.warning("drawing stream %r untransformed: transform_function %r: %s",
                       stream.get("metric"), text, exc)
        return None


@dataclass
class _StreamRead:
    """One stream's lines before their data is read: the series it matched
    (at most `room` lines' worth), the bucket and statistics they are read with."""

    stream: dict
    bucket: int
    matched: list[tuple[int, dict[str, str]]]
    breakout: bool
    summary: str
    downsample: str | None

    @property
    def ids(self) -> list[int]:
        return [sid for sid, _ in self.matched]

    @property
    def read_with(self) -> tuple[int, str, str | None]:
        return self.bucket, self.summary, self.downsample

    @property
    def lines(self) -> int:
        """How many lines it draws: a breakout one per matched series, else one aggregated line."""
        return len(self.matched) if self.breakout else 1


def _stream_read(snapshot: dict, stream: dict, matched: list[tuple[int, dict[str, str]]], resolution: int,
                 room: int) -> _StreamRead:
    bucket = stream_resolution(resolution, stream.get("period"))
    breakout = stream.get("group_function") == "breakout" and not any(
        t.get("dynamic") for t in stream.get("tags", [])
    )
    if breakout:
        matched = matched[:room]  # lines past the chart's cap are never drawn: never read them
    return _StreamRead(stream, bucket, matched, breakout, stream.get("summary_function") or "average",
                       stream.get("downsample_function"))


def _bucketed(store: MeasurementStore, ids: list[int], start: int, end: int,
              read_with: tuple[int, str, str | None], conn: Connection) -> dict[int, list[tuple[int, float]]]:
    bucket, summary, downsample = read_with
    if downsample:
        return store.bucketed_by(ids, start, end, bucket, summary, downsample, conn)
    return store.bucketed(ids, start, end, bucket, summary, conn)


# At most this many series are read in one joint call (a stream matching more is read alone, as
# before): a joint read must not pass a bound a stream's own read would not (bind parameters per statement).
MAX_SERIES_PER_JOINT_READ = 200


def _read_all(store: MeasurementStore, reads: list[_StreamRead], start: int,
              end: int, conn: Connection) -> list[dict[int, list[tuple[int, float]]]]:
    """Each stream's data. Streams read alike (same bucket and statistics)
    are read in one call, their series together: a series' buckets do not
    depend on the others read with it, and each call has a fixed cost (its
    connection and statements) several times that of a stream's few hundred
    points. If a joint read is refused (a bound on the points one read may
    hold), each of its streams is read alone, as it would have been."""
    batches: list[tuple[tuple, list[int]]] = []  # (read_with, indexes into reads)
    open_batch: dict[tuple, tuple[list[int], set[int]]] = {}
    for i, read in enumerate(reads):
        batch = open_batch.get(read.read_with)
        if batch is None or len(batch[1] | set(read.ids)) > MAX_SERIES_PER_JOINT_READ:
            batch = open_batch[read.read_with] = ([], set())
            batches.append((read.read_with, batch[0]))
        batch[0].append(i)
        batch[1].update(read.ids)
    out: list[dict[int, list[tuple[int, float]]]] = [{} for _ in reads]
    for read_with, members in batches:
        ids = list(dict.fromkeys(sid for i in members for sid in reads[i].ids))
        try:
            data = _bucketed(store, ids, start, end, read_with, conn)
        except errors.InvalidParams:
            if len(members) == 1:
                raise
            for i in members:
                out[i] = _bucketed(store, reads[i].ids, start, end, read_with, conn)
            continue
        for i in members:
            out[i] = data
    return out


def _stream_series(read: _StreamRead, data: dict[int, list[tuple[int, float]]],
                   room: int) -> list[render_pb2.RenderSeries]:
    """The lines one stream draws (at most `room` of them)."""
    stream, matched, ids = read.stream, read.matched, read.ids
    if read.breakout:
        drawn = [(_breakout_label(stream, tags), tags, data.get(sid, [])) for sid, tags in matched]
    else:
        # One aggregated line per stream (and per metric for dynamic tags).
        group = stream.get("group_function") or "average"
        combined = combine([data.get(sid, []) for sid in ids], "average" if group == "breakout" else group)
        drawn = [(stream.get("name") or stream["metric"], {}, combined)]
    transform = _transform(stream)
    color = (stream.get("color") or "") if len(drawn) == 1 else ""
    out = []
    for label, tags, pts in drawn[:room]:
        times, values = [float(t) for t, _ in pts], [float(v) for _, v in pts]
        if transform is not None:
            times, values = transform.apply(times, values, read.bucket)
        out.append(render_pb2.RenderSeries(label=label[:MAX_LABEL], color=color, times=times, values=values,
                                           metric=stream["metric"], tags=tags))
    return out


def _axis_bounds(chart_type: str, drawn: list[tuple[dict, int]]) -> tuple[float | None, float | None]:
    """The y range the streams' theoretical min/max give (`drawn`: each
    stream with how many lines it drew), None where they give none."""
    drawn = [(stream, lines) for stream, lines in drawn if lines]
    if chart_type == "bignumber" or not drawn:
        return None, None
    bounds: list[float | None] = []
    for key in ("min", "max"):
        values = [stream.get(key) for stream, _ in drawn]
        if any(v is None for v in values):
            bounds.append(None)
        elif chart_type == "stacked":
            bounds.append(float(sum((min(v, 0.0) if key == "min" else v) * lines
                                    for v, (_, lines) in zip(values, drawn))))
        else:
            bounds.append(float(min(values) if key == "min" else max(values)))
    return bounds[0], bounds[1]


def _agreed_units(streams: list[dict]) -> str:
    units = {s["units_short"] for s in streams if s.get("units_short")}
    return units.pop() if len(units) == 1 else ""


def _read_streams(store: MeasurementStore, chart: dict, snapshot: dict, resolution: int, start: int, end: int,
                  conn: Connection, request: render_pb2.RenderRequest) -> list[tuple[dict, int]]:
    """Each of the chart's streams (its metric's defaults applied) and how
    many lines it drew into `request`."""
    account_id = snapshot["account_id"]
    # Per metric (a chart's streams often share one), in one statement.
    displays = store.metric_displays(account_id, list(dict.fromkeys(
        s["metric"] for s in chart.get("streams", []) if s.get("metric"))), conn)
    streams = [with_metric_defaults(s, *displays[s["metric"]]) for s in chart.get("streams", []) if s.get("metric")]
    # Which series each stream draws (and so how many lines: the chart's cap
    # is shared in stream order), then all their data at once.
    matched = store.series_matching(account_id, [(s["metric"], _filters(s, snapshot["narrowing"])) for s in streams],
                                    conn=conn)
    reads: list[_StreamRead] = []
    lines_so_far = 0
    for stream, series_matched in zip(streams, matched):
        room = MAX_SERIES_PER_CHART - lines_so_far
        if room <= 0:
            break
        reads.append(_stream_read(snapshot, stream, series_matched, resolution, room))
        lines_so_far += min(reads[-1].lines, room)
    drawn: list[tuple[dict, int]] = [(stream, 0) for stream in streams]
    for i, (read, data) in enumerate(zip(reads, _read_all(store, reads, start, end, conn))):
        lines = _stream_series(read, data, MAX_SERIES_PER_CHART - len(request.series))
        request.series.extend(lines)
        drawn[i] = (read.stream, len(lines))
    return drawn


def build_render_request(
    store: MeasurementStore, chart: dict, snapshot: dict, now: float
) -> render_pb2.RenderRequest:
    end = int(snapshot["end_time"])
    start = end - int(snapshot["duration"])
    resolution = resolution_for(snapshot["duration"], snapshot["width"])
    chart_type = snapshot["chart_type"]
    request = render_pb2.RenderRequest(
        snapshot_id=snapshot["id"], job_id=snapshot["job_id"], image_key=snapshot["assigned_image_key"],
        title=chart.get("name", ""), chart_type=chart_type, width=snapshot["width"],
        height=snapshot["height"], start=start, end=end, enqueued_at=now,
    )
    with store.connect() as conn:  # every read of the chart on one connection
        drawn = _read_streams(store, chart, snapshot, resolution, start, end, conn, request)
    streams = [stream for stream, _ in drawn]
    request.y_units_short = _agreed_units(streams)
    units_long = list(dict.fromkeys(s["units_long"] for s in streams if s.get("units_long")))
    request.y_label = (chart.get("label") or " / ".join(units_long))[:MAX_LABEL]
    stream_min, stream_max = _axis_bounds(chart_type, drawn)
    y_min = chart["min"] if chart.get("min") is not None else stream_min
    y_max = chart["max"] if chart.get("max") is not None else stream_max
    if y_min is not None:
        request.y_min = y_min
    if y_max is not None:
        request.y_max = y_max
    if chart_type == "bignumber":
        first = request.series[0].values if request.series else []
        lead = streams[0] if streams else {}
        if chart.get("use_last_value"):
            value = first[-1] if first else None
        else:
            # The window rolls up as each bucket did: the downsample function
            # when the stream names one, else its summary function. Buckets
            # already hold counts, so a count over the window is their sum.
            function = lead.get("downsample_function") or lead.get("summary_function") or "average"
            value = summarise(list(first), "sum" if function == "count" else function)
        if value is not None:
            request.big_value = value
        request.big_units = lead.get("units_short") or ""
        for t in chart.get("thresholds", []):
            request.thresholds.add(operator=t["operator"], value=t["value"], type=t["type"])
    return request
