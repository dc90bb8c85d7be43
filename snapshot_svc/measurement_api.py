"""gRPC adapter of the measurements API (MeasurementService): submitting
samples, querying series and the metric catalogue. Calls are authenticated
by snapshot_svc.grpc_api.Authenticator; validation is the domain's
(snapshot_svc.measurements, snapshot_svc.metric_rules)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from chartsnap import errors
from chartsnap.bounds import MAX_BATCH
from chartsnap.grpc_server import domain_rpc
from chartsnap.v1 import measurements_pb2, measurements_pb2_grpc
from snapshot_svc import measurements as m
from snapshot_svc import metric_catalog, metric_rules
from snapshot_svc.grpc_api import Authenticator, given, page_info, page_of
from snapshot_svc.measurements import MeasurementStore
from snapshot_svc.metric_catalog import MetricCatalog


def _sample_dict(proto: measurements_pb2.Measurement) -> dict:
    """The fields a client set, read straight off the message."""
    raw: dict = {"name": proto.name, "path": proto.path, "has_tags": proto.has_tags, "tags": dict(proto.tags),
                 "type": proto.type}
    for key in ("value", "count", "sum", "min", "max", "last", "time", "period", "stddev", "stddev_m2",
                "sum_squares"):
        if proto.HasField(key):
            raw[key] = getattr(proto, key)
    if proto.attributes_json:
        raw["attributes"] = _json_object(proto.attributes_json, f"{proto.path or 'measurements'}.attributes")
    return raw


def _json_object(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise errors.InvalidParams.one(where, "must be an object") from None


def samples_from(request: measurements_pb2.SubmitMeasurementsRequest,
                 now: float) -> tuple[list[m.Sample], list[m.SeriesRun], dict]:
    """Validated samples (the columnar ones as runs) and refusals; CPU work,
    so callers run it off the event loop."""
    total = len(request.measurements) + sum(len(c.times) for c in request.columns)
    if total > MAX_BATCH:
        raise errors.InvalidParams.one("measurements", f"at most {MAX_BATCH} items")
    batch_time = request.time if request.HasField("time") else None
    batch_period = request.period if request.HasField("period") else None
    origin = m.LEGACY if request.legacy else m.TAGGED
    batch_tags = dict(request.tags)
    good, bad = m.validate_samples([_sample_dict(x) for x in request.measurements], batch_tags, batch_time, now,
                                   batch_period, origin)
    runs = []
    for k, column in enumerate(request.columns):
        paths = ([f"measurements[{i}]" for i in column.positions] if column.positions
                 else [f"columns[{k}][{j}]" for j in range(len(column.times))])
        run, samples, refused = m.validate_run(column.name, dict(column.tags), column.has_tags, list(column.times),
                                               list(column.values), paths, batch_tags, now, batch_period, origin)
        if run is not None:
            runs.append(run)
        good.extend(samples)  # (a run with a bad sample: its good ones)
        bad.update(refused)
    return good, runs, bad


def metric_to_proto(metric: dict) -> measurements_pb2.Metric:
    out = measurements_pb2.Metric(name=metric["name"], type=metric["type"],
                                  attributes_json=json.dumps(metric["attributes"], sort_keys=True))
    for key in ("display_name", "description", "period"):
        if metric[key] is not None:
            setattr(out, key, metric[key])
    return out


class MeasurementServicer(measurements_pb2_grpc.MeasurementServiceServicer):
    def __init__(self, auth: Authenticator, store: MeasurementStore) -> None:
        self.auth = auth
        self.store = store
        self.catalog = MetricCatalog(store.engine)

    @domain_rpc
    async def ListMetrics(self, request, context):
        account = await self.auth(context)
        page = page_of(request, metric_catalog.ORDERABLE)
        found, total, items = await asyncio.to_thread(self.catalog.list, account.id, page, request.name)
        return measurements_pb2.ListMetricsResponse(
            page=page_info(found, len(items), page.offset, total), metrics=[metric_to_proto(x) for x in items])

    @domain_rpc
    async def GetMetric(self, request, context):
        account = await self.auth(context)
        return metric_to_proto(await asyncio.to_thread(self.catalog.get, account.id, request.name))

    @domain_rpc
    async def UpdateMetric(self, request, context):
        account = await self.auth(context)
        change = metric_rules.metric_update(
            request.name, given(request, "type"), given(request, "display_name"), given(request, "description"),
            given(request, "period"),
            _json_object(request.attributes_json, "attributes") if request.attributes_json else None,
            list(request.cleared))
        created, metric = await asyncio.to_thread(self.catalog.put, account.id, change)
        return measurements_pb2.UpdateMetricResponse(created=created, metric=metric_to_proto(metric))

    @domain_rpc
    async def SubmitMeasurements(self, request, context):
        account = await self.auth(context)
        accepted, bad = await asyncio.to_thread(self._submit, account.id, request, time.time())
        return measurements_pb2.SubmitMeasurementsResponse(
            accepted=accepted,
            rejected=[measurements_pb2.FieldError(field=k, messages=v) for k, v in bad.items()],
        )

    def _submit(self, account_id: int, request: measurements_pb2.SubmitMeasurementsRequest,
                now: float) -> tuple[int, dict]:
        """Validate and store a batch: one trip to a database thread, not two."""
        good, runs, bad = samples_from(request, now)
        return self.store.submit(account_id, good, runs), bad

    @domain_rpc
    async def QueryMeasurements(self, request, context):
        account = await self.auth(context)
        query = m.validate_query(m.QueryInput(
            request.name, given(request, "start_time"), given(request, "end_time"), given(request, "duration"),
            request.resolution,
            dict(request.tags), request.group_by, request.group_by_function, request.summary_function,
            request.origin,
        ), int(time.time()))
        result = await asyncio.to_thread(
            self.store.query, account.id, query.name, query.start, query.end, query.resolution, query.tags,
            query.group_by, query.group_function, query.summary_function, query.origin,
        )
        return measurements_pb2.QueryMeasurementsResponse(
            name=request.name.lower(), resolution=query.resolution,
            series=[
                measurements_pb2.Series(
                    tags=s.tags, measurements=[measurements_pb2.Point(time=t, value=v) for t, v in s.points]
                )
                for s in result
            ],
        )
