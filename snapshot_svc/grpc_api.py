"""gRPC adapter: every call is authenticated here from its own metadata (the
gateway passes the client's Basic credentials through), so no gRPC caller can
act for another account — except GetSharedSnapshot, whose share token is its
permission (the public share page). Database work runs in threads; domain
errors map to status codes through chartsnap.status_table."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import grpc
from google.protobuf import json_format

from chartsnap import errors, idempotency_key
from chartsnap.bounds import MAX_SNAPSHOT_SERVICES, MAX_TAG_FILTERS, MAX_TAG_VALUES
from chartsnap.grpc_server import credentials_from, domain_rpc
from chartsnap.image_keys import image_key_of
from chartsnap.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    common_pb2,
    destinations_pb2,
    destinations_pb2_grpc,
    snapshots_pb2,
    snapshots_pb2_grpc,
    spaces_pb2,
    spaces_pb2_grpc,
)
from snapshot_svc import snapshots as snaps
from snapshot_svc.accounts import Account, AccountStore, token_digest
from snapshot_svc.charts import SpaceStore
from snapshot_svc.destinations import DestinationStore
from snapshot_svc.jobs import Jobs
from snapshot_svc.pagination import Page, page_from



class Authenticator:
    """Authenticates each call, remembering good credentials for a few seconds:
    a client polling its job should not cost a database read per poll."""

    TTL = 10.0
    MAX_ENTRIES = 10_000

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts
        self.recent: dict[tuple[str, str], tuple[Account, float]] = {}

    async def __call__(self, context: grpc.aio.ServicerContext) -> Account:
        email, token = credentials_from(context)
        key = (email.strip().lower(), token_digest(token))
        hit = self.recent.get(key)
        now = time.monotonic()
        if hit and hit[1] > now:
            return hit[0]
        account = await asyncio.to_thread(self.accounts.authenticate, email, token)
        if len(self.recent) >= self.MAX_ENTRIES:
            self.recent.clear()
        self.recent[key] = (account, now + self.TTL)
        return account


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def chart_to_proto(chart: dict) -> spaces_pb2.Chart:
    return json_format.ParseDict(_drop_none(chart), spaces_pb2.Chart(), ignore_unknown_fields=True)


def chart_fields_to_dict(fields: spaces_pb2.ChartFields) -> dict:
    out = json_format.MessageToDict(fields, preserving_proto_field_name=True)
    for key in ("streams", "thresholds", "set_streams", "set_thresholds"):
        out.pop(key, None)
    if fields.set_streams:
        out["streams"] = [json_format.MessageToDict(x, preserving_proto_field_name=True) for x in fields.streams]
    if fields.set_thresholds:
        # By hand: MessageToDict drops zero values, and 0 is a fine threshold.
        out["thresholds"] = [{"operator": t.operator, "value": t.value, "type": t.type} for t in fields.thresholds]
    if "related_space" in out:
        out["related_space"] = int(out["related_space"])
    return out


def space_to_proto(space: dict) -> spaces_pb2.Space:
    return spaces_pb2.Space(id=space["id"], name=space["name"], chart_ids=space["chart_ids"])


def _ts(epoch: float) -> dict:
    """A Timestamp field's value at whole seconds, as a message's constructor
    takes it: a dict, which costs half what building a Timestamp does (a page
    of a hundred snapshots has three each)."""
    return {"seconds": int(epoch)}


def idempotency_claim(request: snapshots_pb2.CreateSnapshotRequest) -> snaps.IdempotencyClaim:
    """The key (bounds checked) and a fingerprint of the rest of the request,
    serialised deterministically so equal requests hash equal."""
    key = idempotency_key.checked(request.idempotency_key)
    rest = snapshots_pb2.CreateSnapshotRequest()
    rest.CopyFrom(request)
    rest.ClearField("idempotency_key")
    return snaps.IdempotencyClaim.of(key, rest.SerializeToString(deterministic=True))


def check_snapshot_lists(request: snapshots_pb2.CreateSnapshotRequest) -> None:
    """The list bounds of chartsnap.bounds, for gRPC callers that did not come
    through the gateway (which refuses the same lists first)."""
    problems = errors.ParamErrors()
    tags = request.subject.tags
    if len(tags) > MAX_TAG_FILTERS:
        problems.add("subject.chart.tags", f"at most {MAX_TAG_FILTERS} items")
    for i, tag in enumerate(tags[:MAX_TAG_FILTERS]):
        if len(tag.values) > MAX_TAG_VALUES:
            problems.add(f"subject.chart.tags[{i}].values", f"at most {MAX_TAG_VALUES} items")
    if len(request.services) > MAX_SNAPSHOT_SERVICES:
        problems.add("services", f"at most {MAX_SNAPSHOT_SERVICES} items")
    problems.raise_if_any()


def snapshot_to_proto(snap: dict, image_url: str) -> snapshots_pb2.Snapshot:
    return snapshots_pb2.Snapshot(
        id=snap["id"], job_id=snap["job_id"], image_url=image_url, duration=snap["duration"],
        end_time=_ts(snap["end_time"]), created_at=_ts(snap["created_at"]), updated_at=_ts(snap["updated_at"]),
        chart_id=snap["chart_id"], chart_type=snap["chart_type"], sources=snap["sources"],
        width=snap["width"], height=snap["height"], share_token=snap["share_token"],
        timezone=snap["timezone"], scale=snap["scale"], theme=snap["theme"], annotations=snap["annotations"],
        summary=snap["summary"],
    )


SHARE_STATES = {snaps.SHARE_PENDING: snapshots_pb2.SharedSnapshot.PENDING,
                snaps.SHARE_RENDERED: snapshots_pb2.SharedSnapshot.RENDERED,
                snaps.SHARE_FAILED: snapshots_pb2.SharedSnapshot.FAILED}


def shared_snapshot_to_proto(shared: dict, image_url: str) -> snapshots_pb2.SharedSnapshot:
    return snapshots_pb2.SharedSnapshot(
        token=shared["share_token"], state=SHARE_STATES[shared["state"]], image_url=image_url,
        width=shared["width"], height=shared["height"], chart_name=shared["chart_name"],
        chart_id=shared["chart_id"], chart_type=shared["chart_type"], duration=shared["duration"],
        end_time=_ts(shared["end_time"]), created_at=_ts(shared["created_at"]),
        taken_by_name=shared["taken_by_name"], message=shared["message"], summary=shared["summary"],
    )


def snapshot_data_to_proto(data: dict) -> snapshots_pb2.SnapshotData:
    """The frozen body (snapshot_svc.frozen_data) as the API answers it."""
    body = data["body"]
    out = snapshots_pb2.SnapshotData(
        snapshot_id=data["snapshot_id"], start=body["window"]["start"], end=body["window"]["end"],
        resolution=data["resolution"], timezone=body["timezone"], chart_type=body["chart_type"],
        png_sha256=data["png_sha256"] or "", summary=data["summary"], taken_at=_ts(data["taken_at"]),
        units_short=body["units_short"],
        series=[snapshots_pb2.DataSeries(label=s["label"], metric=s["metric"], tags=s["tags"], times=s["times"],
                                         values=[math.nan if v is None else v for v in s["values"]])
                for s in body["series"]],
    )
    if body.get("big_value") is not None:
        out.big_value = body["big_value"]
    return out


class AccountServicer(accounts_pb2_grpc.AccountServiceServicer):
    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth

    @domain_rpc
    async def WhoAmI(self, request, context):
        account = await self.auth(context)
        return accounts_pb2.Account(id=account.id, email=account.email, full_name=account.full_name)


class SpaceServicer(spaces_pb2_grpc.SpaceServiceServicer):
    def __init__(self, auth: Authenticator, spaces: SpaceStore) -> None:
        self.auth = auth
        self.spaces = spaces

    @domain_rpc
    async def CreateSpace(self, request, context):
        account = await self.auth(context)
        space = await asyncio.to_thread(self.spaces.create_space, account.id, request.name)
        return space_to_proto(space)

    @domain_rpc
    async def ListSpaces(self, request, context):
        account = await self.auth(context)
        page = page_of(request, ("id", "name"))
        found, total, items = await asyncio.to_thread(self.spaces.list_spaces, account.id, page, request.name)
        return spaces_pb2.ListSpacesResponse(
            page=page_info(found, len(items), page.offset, total), spaces=[space_to_proto(s) for s in items]
        )

    @domain_rpc
    async def GetSpace(self, request, context):
        account = await self.auth(context)
        return space_to_proto(await asyncio.to_thread(self.spaces.get_space, account.id, request.id))

    @domain_rpc
    async def UpdateSpace(self, request, context):
        account = await self.auth(context)
        name = request.name if request.HasField("name") else None
        return space_to_proto(await asyncio.to_thread(self.spaces.update_space, account.id, request.id, name))

    @domain_rpc
    async def DeleteSpace(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.spaces.delete_space, account.id, request.id)
        return spaces_pb2.Empty()

    @domain_rpc
    async def CreateChart(self, request, context):
        account = await self.auth(context)
        chart = await asyncio.to_thread(
            self.spaces.create_chart, account.id, request.space_id, chart_fields_to_dict(request.chart)
        )
        return chart_to_proto(chart)

    @domain_rpc
    async def ListCharts(self, request, context):
        account = await self.auth(context)
        charts = await asyncio.to_thread(self.spaces.list_charts, account.id, request.space_id)
        return spaces_pb2.ListChartsResponse(charts=[chart_to_proto(c) for c in charts])

    @domain_rpc
    async def GetChart(self, request, context):
        account = await self.auth(context)
        chart = await asyncio.to_thread(self.spaces.get_chart, account.id, request.chart_id, request.space_id)
        return chart_to_proto(chart)

    @domain_rpc
    async def UpdateChart(self, request, context):
        account = await self.auth(context)
        chart = await asyncio.to_thread(
            self.spaces.update_chart, account.id, request.space_id, request.chart_id,
            chart_fields_to_dict(request.chart),
        )
        return chart_to_proto(chart)

    @domain_rpc
    async def DeleteChart(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.spaces.delete_chart, account.id, request.space_id, request.chart_id)
        return spaces_pb2.Empty()


def given(message: Any, name: str) -> Any:
    """The field's value, or None when the caller left it unset."""
    return getattr(message, name) if message.HasField(name) else None


def page_of(request: Any, orderable: tuple[str, ...]) -> Page:
    p = request.page
    return page_from(p.offset, p.length, p.orderby, p.sort, orderable)


def page_info(found: int, length: int, offset: int, total: int) -> common_pb2.PageInfo:
    return common_pb2.PageInfo(found=found, length=length, offset=offset, total=total)


class SnapshotServicer(snapshots_pb2_grpc.SnapshotServiceServicer):
    def __init__(self, auth: Authenticator, snapshots: snaps.SnapshotStore, jobs: Jobs, image_url_for: Any) -> None:
        self.auth = auth
        self.snapshots = snapshots
        self.jobs = jobs
        self.image_url_for = image_url_for

    def _url(self, snap: dict) -> str:
        return self.image_url_for(snap["image_key"]) if snap.get("image_key") else ""

    @domain_rpc
    async def CreateSnapshot(self, request, context):
        account = await self.auth(context)
        check_snapshot_lists(request)
        now = time.time()
        claim = idempotency_claim(request) if request.HasField("idempotency_key") else None
        subject = request.subject
        data = snaps.SnapshotInput(
            chart_id=subject.chart_id, chart_type=subject.chart_type,
            duration=given(request, "duration"),
            end_time=request.end_time.seconds if request.HasField("end_time") else None,
            tags=tuple({"name": t.name, "values": list(t.values)} for t in subject.tags),
            source=given(subject, "source"), services=tuple(request.services), message=given(request, "message"),
            width=given(request, "width"), height=given(request, "height"),
            timezone=given(request, "timezone"), scale=given(request, "scale"), theme=given(request, "theme"),
            annotations=tuple(request.annotations),
        )
        snap, new = await self.jobs.take_snapshot(account, snaps.validate(data, now), now, claim)
        return snapshot_to_proto(snap, "" if new else self._url(snap))

    @domain_rpc
    async def GetSnapshot(self, request, context):
        account = await self.auth(context)
        snap = await asyncio.to_thread(self.snapshots.get, account.id, request.id)
        return snapshot_to_proto(snap, self._url(snap))

    @domain_rpc
    async def ListSnapshots(self, request, context):
        account = await self.auth(context)
        page = page_of(request, ("id", "created_at", "end_time"))
        total, items = await asyncio.to_thread(self.snapshots.list, account.id, page)
        return snapshots_pb2.ListSnapshotsResponse(
            page=page_info(total, len(items), page.offset, total),
            snapshots=[snapshot_to_proto(s, self._url(s)) for s in items],
        )

    @domain_rpc
    async def GetSharedSnapshot(self, request, context):
        # The one call with no credentials: the token is the permission (the
        # share page is public, as the image is). A malformed token is
        # NOT_FOUND before any query, exactly like an unknown one.
        try:
            image_key = image_key_of(request.token)
        except ValueError:
            raise errors.NotFound("snapshot not found") from None
        shared = await asyncio.to_thread(self.snapshots.shared, image_key)
        return shared_snapshot_to_proto(shared, self._url(shared))

    @domain_rpc
    async def GetSnapshotData(self, request, context):
        account = await self.auth(context)
        return snapshot_data_to_proto(await asyncio.to_thread(self.snapshots.data, account.id, request.id))

    @domain_rpc
    async def GetJob(self, request, context):
        account = await self.auth(context)
        job = await asyncio.to_thread(self.snapshots.get_job, account.id, request.id)
        return snapshots_pb2.Job(
            id=job.id, state=job.state, progress=job.progress, errors=job.errors,
            image_url=self.image_url_for(job.image_key) if job.image_key else "",
            deliveries=[snapshots_pb2.DeliveryOutcome(**d) for d in job.deliveries],
        )


def destination_to_proto(d: dict) -> destinations_pb2.Destination:
    return destinations_pb2.Destination(id=d["id"], title=d["title"], type=d["type"], settings=d["settings"])


class DestinationServicer(destinations_pb2_grpc.DestinationServiceServicer):
    def __init__(self, auth: Authenticator, store: DestinationStore) -> None:
        self.auth = auth
        self.store = store

    @domain_rpc
    async def CreateDestination(self, request, context):
        account = await self.auth(context)
        created = await asyncio.to_thread(
            self.store.create, account.id, request.title, request.type, dict(request.settings))
        return destination_to_proto(created)

    @domain_rpc
    async def GetDestination(self, request, context):
        account = await self.auth(context)
        return destination_to_proto(await asyncio.to_thread(self.store.get, account.id, request.id))

    @domain_rpc
    async def UpdateDestination(self, request, context):
        account = await self.auth(context)
        updated = await asyncio.to_thread(
            self.store.update, account.id, request.id,
            request.title if request.HasField("title") else None,
            request.type if request.HasField("type") else None,
            dict(request.settings) if request.set_settings else None,
        )
        return destination_to_proto(updated)

    @domain_rpc
    async def DeleteDestination(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.store.delete, account.id, request.id)
        return destinations_pb2.DeleteDestinationResponse()

    @domain_rpc
    async def ListDestinations(self, request, context):
        account = await self.auth(context)
        page = page_of(request, ("id", "title"))
        total, items = await asyncio.to_thread(self.store.list, account.id, page)
        return destinations_pb2.ListDestinationsResponse(
            page=page_info(total, len(items), page.offset, total),
            services=[destination_to_proto(d) for d in items],
        )
