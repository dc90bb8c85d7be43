"""REST bodies and query strings turned into gRPC requests. Only shapes and
types are checked here (naming the field); the services check meaning."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

from google.protobuf.timestamp_pb2 import Timestamp

from chartsnap import errors
from chartsnap.bounds import (
    MAX_BATCH,
    MAX_MEASUREMENT_TAGS,
    MAX_QUERY_TAGS,
    MAX_SETTINGS,
    MAX_SNAPSHOT_ANNOTATIONS,
    MAX_SNAPSHOT_SERVICES,
    MAX_STREAMS,
    MAX_TAG_FILTERS,
    MAX_TAG_VALUES,
    MAX_THRESHOLDS,
)
from chartsnap.charts import SIZE_RANGE
from chartsnap.errors import ParamErrors
from chartsnap.snapshot_options import MAX_TIMEZONE_CHARS
from chartsnap.v1 import common_pb2, destinations_pb2, measurements_pb2, snapshots_pb2, spaces_pb2
from gateway import coerce
from gateway.coerce import EPOCH_RANGE

# The snapshot service checks SIZE_RANGE (chartsnap.charts), with every other
# field of the request, so that one reply names every bad field.
# What the gateway itself stops: a size the int32 field cannot carry, or 0,
# which the service would read as "unset" (the default size). Every such
# value is outside SIZE_RANGE, so it is refused in the range's words.
SIZE_TRANSPORTABLE = (1, 2**31 - 1)


def page_request(params: Mapping[str, str]) -> common_pb2.PageRequest:
    page = common_pb2.PageRequest(orderby=params.get("orderby", ""), sort=params.get("sort", ""))
    for key in ("offset", "length"):
        if key in params:
            value = coerce.integer(params[key], key)
            if value < 0 or value > 2**31 - 1:
                raise errors.InvalidParams.one(key, "must be a non-negative integer")
            setattr(page, key, value)
    if "length" in params and page.length == 0:
        raise errors.InvalidParams.one("length", "must be between 1 and 100")
    return page


def _tag_filters(raw: Any, field: str) -> list[common_pb2.TagFilter]:
    out = []
    for i, tag in enumerate(_bounded(coerce.as_list(raw, field), field, MAX_TAG_FILTERS)):
        where = f"{field}[{i}]"
        tag = coerce.as_dict(tag, where)
        values = tag.get("values", [])
        if isinstance(values, str):
            values = [values]
        values = _bounded(coerce.as_list(values, f"{where}.values"), f"{where}.values", MAX_TAG_VALUES)
        out.append(common_pb2.TagFilter(
            name=coerce.text(tag.get("name", ""), f"{where}.name", 64),
            values=[coerce.text(v, f"{where}.values", 255) for v in values],
            grouped=coerce.boolean(tag.get("grouped", False), f"{where}.grouped"),
            dynamic=coerce.boolean(tag.get("dynamic", False), f"{where}.dynamic"),
        ))
    return out


def create_snapshot(body: dict) -> snapshots_pb2.CreateSnapshotRequest:
    problems = ParamErrors()
    subject = body.get("subject")
    chart = subject.get("chart") if isinstance(subject, dict) else None
    request = snapshots_pb2.CreateSnapshotRequest()
    if not isinstance(chart, dict):
        problems.add("subject", "must name a chart: subject.chart.id and subject.chart.type")
        problems.raise_if_any()
    try:
        if "id" not in chart:
            raise errors.InvalidParams.one("subject", "chart id is required")
        request.subject.chart_id = coerce.integer(chart["id"], "subject", "chart id must be an integer")
    except errors.InvalidParams as exc:
        for k, v in exc.fields.items():
            for msg in v:
                problems.add(k, msg)
    request.subject.chart_type = str(chart.get("type", "")) if not isinstance(chart.get("type"), (dict, list)) else ""
    for name, convert in (
        ("tags", lambda: request.subject.tags.extend(_tag_filters(chart["tags"], "subject.chart.tags"))),
        ("source", lambda: setattr(request.subject, "source", coerce.text(chart["source"], "subject.chart.source", 255))),
    ):
        if chart.get(name) is not None:
            _collect(problems, convert)

    def set_duration() -> None:
        request.duration = coerce.integer(body["duration"], "duration", "must be a whole number of seconds")

    def set_end_time() -> None:
        ts = Timestamp()
        ts.FromSeconds(coerce.epoch_seconds(body["end_time"], "end_time"))
        request.end_time.CopyFrom(ts)

    def set_size(key: str) -> None:
        value = coerce.integer(body[key], key, "must be a whole number of pixels")
        if not SIZE_TRANSPORTABLE[0] <= value <= SIZE_TRANSPORTABLE[1]:
            raise errors.InvalidParams.one(key, f"must be from {SIZE_RANGE[0]} to {SIZE_RANGE[1]} pixels")
        setattr(request, key, value)

    def set_services() -> None:
        services = _bounded(coerce.as_list(body["services"], "services"), "services", MAX_SNAPSHOT_SERVICES)
        request.services.extend(coerce.text(s, "services", 64) for s in services)

    def set_message() -> None:
        request.message = coerce.text(body["message"], "message")  # length checked by the service

    # The drawing options: types here, their rules in the snapshot service
    # (chartsnap.snapshot_options, snapshot_svc.annotation_rules).
    def set_timezone() -> None:
        request.timezone = coerce.text(body["timezone"], "timezone", MAX_TIMEZONE_CHARS)

    def set_scale() -> None:
        request.scale = coerce.number(body["scale"], "scale")

    def set_theme() -> None:
        request.theme = coerce.text(body["theme"], "theme", 16)

    def set_annotations() -> None:
        names = _bounded(coerce.as_list(body["annotations"], "annotations"), "annotations", MAX_SNAPSHOT_ANNOTATIONS)
        request.annotations.extend(coerce.text(n, "annotations", 255) for n in names)

    for key, convert in (("duration", set_duration), ("end_time", set_end_time),
                         ("width", lambda: set_size("width")), ("height", lambda: set_size("height")),
                         ("services", set_services), ("message", set_message), ("timezone", set_timezone),
                         ("scale", set_scale), ("theme", set_theme), ("annotations", set_annotations)):
        if body.get(key) not in (None, ""):
            _collect(problems, convert)
    problems.raise_if_any()
    return request


def _bounded(items: list, field: str, most: int) -> list:
    """Refuse, never silently cut, a list past what any client needs."""
    if len(items) > most:
        raise errors.InvalidParams.one(field, f"at most {most} items")
    return items


def _collect(problems: ParamErrors, convert: Any) -> None:
    try:
        convert()
    except errors.InvalidParams as exc:
        for k, v in exc.fields.items():
            for msg in v:
                problems.add(k, msg)


STREAM_TEXT = ("metric", "source", "group_function", "summary_function", "downsample_function", "color", "name",
               "units_short", "units_long", "transform_function", "composite")
# A formula is refused past the service's own bound (snapshot_svc.stream_transforms.MAX_LENGTH), never
# cut as the service cuts the other texts: a shortened formula would mean something else.
STREAM_TEXT_MOST = {"transform_function": 255}


def _stream(raw: Any, where: str) -> spaces_pb2.Stream:
    raw = coerce.as_dict(raw, where)
    stream = spaces_pb2.Stream()
    for key in STREAM_TEXT:
        if raw.get(key) is not None:
            setattr(stream, key, coerce.text(raw[key], f"{where}.{key}", STREAM_TEXT_MOST.get(key, 1000)))
    for key in ("min", "max"):
        if raw.get(key) not in (None, ""):
            setattr(stream, key, coerce.number(raw[key], f"{where}.{key}"))
    if raw.get("period") not in (None, ""):
        stream.period = coerce.int32(raw["period"], f"{where}.period")
    if raw.get("tags") is not None:
        stream.tags.extend(_tag_filters(raw["tags"], f"{where}.tags"))
    return stream


def chart_fields(body: dict) -> spaces_pb2.ChartFields:
    problems = ParamErrors()
    fields = spaces_pb2.ChartFields()
    for key in ("name", "type", "label"):
        if body.get(key) is not None:
            _collect(problems, lambda key=key: setattr(fields, key, coerce.text(body[key], key, 255)))
    for key in ("min", "max"):
        if body.get(key) not in (None, ""):
            _collect(problems, lambda key=key: setattr(fields, key, coerce.number(body[key], key)))
    if body.get("related_space") not in (None, ""):
        _collect(problems, lambda: setattr(fields, "related_space", coerce.integer(body["related_space"], "related_space")))
    if body.get("use_last_value") is not None:
        _collect(problems, lambda: setattr(fields, "use_last_value", coerce.boolean(body["use_last_value"], "use_last_value")))
    if "streams" in body:
        fields.set_streams = True

        def set_streams() -> None:
            for i, raw in enumerate(_bounded(coerce.as_list(body["streams"], "streams"), "streams", MAX_STREAMS)):
                _collect(problems, lambda raw=raw, i=i: fields.streams.append(_stream(raw, f"streams[{i}]")))

        _collect(problems, set_streams)
    if "thresholds" in body:
        fields.set_thresholds = True

        def set_thresholds() -> None:
            for i, raw in enumerate(_bounded(coerce.as_list(body["thresholds"], "thresholds"), "thresholds", MAX_THRESHOLDS)):
                where = f"thresholds[{i}]"
                raw = coerce.as_dict(raw, where)
                fields.thresholds.add(
                    operator=coerce.text(raw.get("operator", ""), f"{where}.operator", 2),
                    value=coerce.number(raw.get("value"), f"{where}.value"),
                    type=coerce.text(raw.get("type", ""), f"{where}.type", 16),
                )

        _collect(problems, set_thresholds)
    problems.raise_if_any()
    return fields


# How long a sample's name, tag name and tag value may travel to the snapshot
# service (which judges their lengths: these caps only keep a hostile key or
# value from travelling further); _plain_measurement checks the same.
MAX_CARRIED_NAME = 1000
MAX_CARRIED_TAG_NAME = 255
MAX_CARRIED_TAG_VALUE = 1000


def _tags(raw: Any, field: str) -> dict[str, str]:
    tags = coerce.as_dict(raw, field)
    if len(tags) > MAX_MEASUREMENT_TAGS:
        raise errors.InvalidParams.one(field, f"at most {MAX_MEASUREMENT_TAGS} tags")
    out = {}
    for k, v in tags.items():
        if isinstance(v, (dict, list)) or v is None or isinstance(v, bool):
            raise errors.InvalidParams.one(f"{field}.{str(k)[:64]}", "must be a string")
        out[coerce.text(k, field, MAX_CARRIED_TAG_NAME)] = coerce.text(v, f"{field}.{str(k)[:64]}",
                                                                      MAX_CARRIED_TAG_VALUE)
    return out


SUMMARY_NUMBERS = ("value", "sum", "min", "max", "last", "stddev", "stddev_m2")
MAX_ATTRIBUTES_JSON = 4000  # the whitelisted attributes (snapshot_svc.metric_rules) fit many times over


def attributes_json(raw: Any, field: str) -> str:
    """A metric `attributes` object, carried as JSON text (its values are
    numbers, booleans and strings): the snapshot service judges each."""
    text = json.dumps(coerce.as_dict(raw, field), allow_nan=False, default=str)
    if len(text) > MAX_ATTRIBUTES_JSON:
        raise errors.InvalidParams.one(field, f"must be at most {MAX_ATTRIBUTES_JSON} characters as JSON")
    return text


def _measurement(raw: Any, where: str, numbers: tuple[str, ...] = SUMMARY_NUMBERS) -> measurements_pb2.Measurement:
    raw = coerce.as_dict(raw, where)
    m = measurements_pb2.Measurement(path=where, name=coerce.text(raw.get("name", ""), f"{where}.name",
                                                                                  MAX_CARRIED_NAME))
    for key in numbers:
        if raw.get(key) is not None:
            setattr(m, key, coerce.number(raw[key], f"{where}.{key}"))
    if raw.get("count") is not None:
        m.count = coerce.integer(raw["count"], f"{where}.count")
    for key in ("time", "measure_time"):
        if raw.get(key) is not None:
            m.time = coerce.epoch_seconds(raw[key], f"{where}.{key}")
    if raw.get("period") is not None:
        m.period = coerce.int32(raw["period"], f"{where}.period")
    if raw.get("attributes") is not None:
        m.attributes_json = attributes_json(raw["attributes"], f"{where}.attributes")
    if raw.get("tags") is not None:
        m.tags.update(_tags(raw["tags"], f"{where}.tags"))
        # An empty tags object replaces nothing: the batch's tags still apply.
        m.has_tags = bool(m.tags)
    return m


def _rejection(exc: errors.InvalidParams) -> list[str]:
    return [f"{k} {', '.join(v)}" for k, v in exc.fields.items()]


def submit_measurements(body: dict) -> tuple[measurements_pb2.SubmitMeasurementsRequest, dict[str, list[str]], int]:
    """The request of well-typed samples, the refusals of ill-typed ones, and
    the total. Top-level `tags`, `time` and `period` are the batch's."""
    request = measurements_pb2.SubmitMeasurementsRequest()
    if body.get("tags") is not None:
        request.tags.update(_tags(body["tags"], "tags"))
    if body.get("time") is not None:
        request.time = coerce.epoch_seconds(body["time"], "time")
    if body.get("period") is not None:
        request.period = coerce.int32(body["period"], "period")
    if "measurements" not in body:
        raise errors.InvalidParams.one("measurements", "is required")
    raw_list = _bounded(coerce.as_list(body["measurements"], "measurements"), "measurements", MAX_BATCH)
    rejected: dict[str, list[str]] = {}
    samples: list[tuple[int, dict | measurements_pb2.Measurement]] = []  # (index, fields or message), in order
    for i, raw in enumerate(raw_list):
        plain = _plain_measurement(raw, f"measurements[{i}]")
        if plain is not None:
            samples.append((i, plain))
            continue
        try:
            samples.append((i, _measurement(raw, f"measurements[{i}]")))
        except errors.InvalidParams as exc:
            rejected[f"measurements[{i}]"] = _rejection(exc)
    batch_time = request.time if request.HasField("time") else None
    try:
        if all(type(sample) is dict and "value" in sample and ("time" in sample or batch_time is not None)
               for _, sample in samples):  # the usual batch: columns (SampleColumns), a few messages in all
            batch = measurements_pb2.SubmitMeasurementsRequest(columns=_columns(samples, batch_time))
        else:  # one constructor for the whole batch: the cheapest way to many messages
            batch = measurements_pb2.SubmitMeasurementsRequest(measurements=[sample for _, sample in samples])
    except (ValueError, TypeError):  # text protobuf refuses (a lone surrogate): each plain sample the long way
        for i, sample in samples:
            try:
                request.measurements.append(_measurement(raw_list[i], f"measurements[{i}]")
                                            if isinstance(sample, dict) else sample)
            except errors.InvalidParams as exc:
                rejected[f"measurements[{i}]"] = _rejection(exc)
        return request, rejected, len(raw_list)
    batch.MergeFrom(request)  # the batch's tags, time and period
    return batch, rejected, len(raw_list)


def _columns(samples: list[tuple[int, dict]], batch_time: int | None) -> list[measurements_pb2.SampleColumns]:
    """Plain samples (from _plain_measurement, each with a value, and a time
    or the batch's), as columns of each name and tag set in order of first use."""
    groups: dict[tuple, tuple[list, list, list, dict]] = {}
    for i, sample in samples:
        tags = sample.get("tags") or {}
        key = (sample["name"], tuple(tags.items()))
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [], [], tags)
        group[0].append(sample.get("time", batch_time))
        group[1].append(sample["value"])
        group[2].append(i)
    return [measurements_pb2.SampleColumns(name=name, tags=tags, has_tags=bool(tags), times=times, values=values,
                                           positions=positions)
            for (name, _), (times, values, positions, tags) in groups.items()]


PLAIN_KEYS = frozenset({"name", "value", "time", "tags"})
PLAIN_INTEGERS = (-(2**63), 2**63)  # a JSON integer as a sample's value: float() takes it exactly enough


def _plain_measurement(raw: Any, where: str) -> dict | None:
    """The usual sample — a name, a finite number, epoch seconds, string
    tags — as the fields _measurement would give it, checked by type alone
    (json.loads gives exactly these types); None for anything else, which
    _measurement then reads the long way. A batch of 1,000 is mostly these."""
    if type(raw) is not dict or not raw.keys() <= PLAIN_KEYS:
        return None
    name, value, when, tags = raw.get("name", ""), raw.get("value"), raw.get("time"), raw.get("tags")
    if type(name) is not str or len(name) > MAX_CARRIED_NAME:
        return None
    out: dict = {"path": where, "name": name}
    if type(value) is float:
        if not math.isfinite(value):
            return None
        out["value"] = value
    elif type(value) is int and PLAIN_INTEGERS[0] <= value <= PLAIN_INTEGERS[1]:
        out["value"] = float(value)
    elif value is not None:
        return None
    if type(when) is int and EPOCH_RANGE[0] <= when <= EPOCH_RANGE[1]:
        out["time"] = when
    elif when is not None:
        return None
    if tags is not None:
        if type(tags) is not dict or len(tags) > MAX_MEASUREMENT_TAGS:
            return None
        for k, v in tags.items():
            if (type(k) is not str or type(v) is not str or len(k) > MAX_CARRIED_TAG_NAME
                    or len(v) > MAX_CARRIED_TAG_VALUE):
                return None
        if tags:
            out["tags"], out["has_tags"] = tags, True
    return out


LEGACY_NUMBERS = ("value", "sum", "min", "max", "last", "sum_squares")


def submit_legacy_metrics(body: dict) -> tuple[measurements_pb2.SubmitMeasurementsRequest, dict[str, list[str]], int]:
    """POST /v1/metrics: gauges and counters of the source-based API. Each
    sample's `source` (else the batch's) is its one tag, and the samples go
    to legacy series (request.legacy), apart from tagged ones of the same name."""
    request = measurements_pb2.SubmitMeasurementsRequest(legacy=True)
    batch_source = body.get("source")
    if body.get("measure_time") is not None:
        request.time = coerce.epoch_seconds(body["measure_time"], "measure_time")
    if body.get("period") is not None:
        request.period = coerce.int32(body["period"], "period")
    rejected: dict[str, list[str]] = {}
    total = 0
    if "gauges" not in body and "counters" not in body:
        raise errors.InvalidParams.one("gauges", "gauges or counters are required")
    for kind in ("gauges", "counters"):
        raw = body.get(kind)
        if raw is None:
            continue
        if isinstance(raw, dict) and not all(str(k).isdigit() and isinstance(v, dict) and "name" in v
                                             for k, v in raw.items()):
            # The {"name": {"value": 1}} form of the legacy API (a form's
            # indexed list gauges[0][name]=... arrives as a dict of digits).
            raw = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "value": v} for k, v in raw.items()]
        for i, item in enumerate(_bounded(coerce.as_list(raw, kind), kind, MAX_BATCH)):
            total += 1
            where = f"{kind}[{i}]"
            try:
                item = coerce.as_dict(item, where)
                m = _measurement({k: v for k, v in item.items() if k not in ("source", "tags")}, where,
                                 LEGACY_NUMBERS)
                m.type = "counter" if kind == "counters" else "gauge"
                source = item.get("source", batch_source)
                if source not in (None, ""):
                    m.tags["source"] = coerce.text(source, f"{where}.source", 255)
                m.has_tags = True  # a source-based sample has no other tags than its source
                request.measurements.append(m)
            except errors.InvalidParams as exc:
                rejected[where] = _rejection(exc)
    return request, rejected, total


def query_measurements(name: str, params: Mapping[str, str]) -> measurements_pb2.QueryMeasurementsRequest:
    problems = ParamErrors()
    request = measurements_pb2.QueryMeasurementsRequest(name=coerce.text(name, "name", 255))
    for key in ("start_time", "end_time"):
        if params.get(key):
            _collect(problems, lambda key=key: setattr(request, key, coerce.epoch_seconds(params[key], key)))
    if params.get("duration"):
        _collect(problems, lambda: setattr(request, "duration", coerce.integer(params["duration"], "duration")))
    if params.get("resolution"):
        _collect(problems, lambda: setattr(request, "resolution", coerce.int32(params["resolution"], "resolution")))
    if request.HasField("duration") and request.duration <= 0:
        problems.add("duration", "must be a positive integer")
    tag_filters = [(key[5:-1], value) for key, value in params.items() if key.startswith("tags[") and key.endswith("]")]
    if len(tag_filters) > MAX_QUERY_TAGS:
        problems.add("tags", f"at most {MAX_QUERY_TAGS} tag filters")
    for tag, pattern in tag_filters[:MAX_QUERY_TAGS]:
        _collect(problems, lambda tag=tag, pattern=pattern: request.tags.__setitem__(
            coerce.text(tag, "tags", 64), coerce.text(pattern, f"tags[{tag[:64]}]", 255)))
    for key in ("group_by", "group_by_function", "summary_function"):
        _collect(problems, lambda key=key: setattr(request, key, coerce.text(params.get(key, ""), key, 255)))
    problems.raise_if_any()
    return request


def destination_settings(raw: Any) -> dict[str, str]:
    settings = coerce.as_dict(raw, "settings")
    if len(settings) > MAX_SETTINGS:
        raise errors.InvalidParams.one("settings", f"at most {MAX_SETTINGS} settings")
    out = {}
    for key, value in settings.items():
        if isinstance(value, bool):
            value = "1" if value else "0"
        if isinstance(value, (dict, list)) or value is None:
            raise errors.InvalidParams.one(f"settings.{key}", "must be a string")
        out[str(key)] = str(value)
    return out


def create_destination(body: dict) -> destinations_pb2.CreateDestinationRequest:
    problems = ParamErrors()
    request = destinations_pb2.CreateDestinationRequest()
    for key in ("title", "type"):
        if body.get(key) is None:
            problems.add(key, "is required")
        else:
            _collect(problems, lambda key=key: setattr(request, key, coerce.text(body[key], key, 255)))
    _collect(problems, lambda: request.settings.update(destination_settings(body.get("settings"))))
    problems.raise_if_any()
    return request


def update_destination(service_id: str, body: dict) -> destinations_pb2.UpdateDestinationRequest:
    problems = ParamErrors()
    request = destinations_pb2.UpdateDestinationRequest(id=service_id)
    for key in ("title", "type"):
        if body.get(key) is not None:
            _collect(problems, lambda key=key: setattr(request, key, coerce.text(body[key], key, 255)))
    if body.get("settings") is not None:
        request.set_settings = True
        _collect(problems, lambda: request.settings.update(destination_settings(body["settings"])))
    problems.raise_if_any()
    return request
