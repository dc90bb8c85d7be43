"""The REST routes. Each handler parses the request, makes one gRPC call with
a deadline and the caller's credentials, and renders the reply; failures of
either step become the contract's error body through one middleware."""

from __future__ import annotations

import logging
import re
from typing import Awaitable, Callable

import grpc
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from chartsnap import errors, idempotency_key
from chartsnap.basic_auth import basic_header, parse_basic
from chartsnap.errors import bounded_fields
from chartsnap.image_keys import loggable_path
from chartsnap.v1 import accounts_pb2, destinations_pb2, snapshots_pb2, spaces_pb2
from gateway import openapi, translate, views
from gateway.annotation_views import annotation_routes
from gateway.api_docs import ApiDocs
from gateway.error_replies import error_reply, error_reply_for, error_reply_from_rpc
from gateway.metric_views import metric_routes
from gateway.rate_limits import RATE_LIMITS, RateLimits, rate_limit_middleware
from gateway.request_context import access_log_middleware
from gateway.request_body import parse_body
from gateway.request_metrics import request_metrics_middleware
from gateway.responses import json_response, request_error
from gateway.settings import GatewaySettings
from gateway.share_page import share_routes
from gateway.snapshot_data_views import snapshot_data_routes
from gateway.snapshot_stubs import SnapshotStubs

log = logging.getLogger(__name__)
ID = re.compile(r"[0-9]{1,18}")
GATEWAY = web.AppKey("gateway", "Gateway")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def authorization(request: web.Request) -> str | None:
    """The caller's credentials, re-encoded: what travels as gRPC metadata is
    always plain ASCII, whatever bytes the client's header held."""
    credentials = parse_basic(request.headers.get("Authorization"))
    return basic_header(*credentials) if credentials else None


def unauthenticated() -> web.Response:
    return error_reply_for(errors.Unauthenticated("Authorization failed")).response()


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ChartsnapError as exc:
        # Errors found here, before any RPC checked the caller: wrong
        # credentials come first (401), whatever else is wrong.
        if not isinstance(exc, errors.Unauthenticated) and await _credentials_refused(request):
            return unauthenticated()
        return error_reply_for(exc).response()
    except grpc.RpcError as exc:
        reply = error_reply_from_rpc(exc)
        if reply.http_status >= 500:
            log.warning("%s %s: upstream %s %s", request.method, loggable_path(request.path), exc.code(),
                        exc.details())
        return reply.response()
    except web.HTTPRequestEntityTooLarge:
        if await _credentials_refused(request):
            return unauthenticated()
        return request_error(413, "Request body too large")
    except web.HTTPMethodNotAllowed as exc:
        if await _credentials_refused(request):
            return unauthenticated()
        return request_error(405, f"Method {exc.method} not allowed here",
                             headers={"Allow": ",".join(sorted(exc.allowed_methods))})
    except web.HTTPNotFound:
        if await _credentials_refused(request):
            return unauthenticated()
        return request_error(404, "Not found")
    except web.HTTPException as exc:
        # Whatever else aiohttp raises (e.g. a body it could not decode) is
        # answered in the error shape, never aiohttp's plain text.
        if exc.status < 400:
            raise
        log.info("%s %s: %s", request.method, loggable_path(request.path), exc.status)
        return request_error(exc.status, exc.reason or "Bad request")
    except Exception:
        log.exception("%s %s failed", request.method, loggable_path(request.path))
        return error_reply(grpc.StatusCode.INTERNAL, "internal error").response()


async def _credentials_refused(request: web.Request) -> bool:
    """Whether the snapshot service refuses this request's credentials. Asked
    only on the error path, so good requests pay no extra round trip."""
    header = authorization(request)
    if header is None:
        return request.path.startswith("/v1/")
    gateway = request.app[GATEWAY]
    try:
        await gateway.rpc.accounts.WhoAmI(accounts_pb2.WhoAmIRequest(), metadata=(("authorization", header),),
                                      timeout=gateway.settings.rpc_timeout)
    except grpc.RpcError as exc:
        return exc.code() == grpc.StatusCode.UNAUTHENTICATED
    return False


class Gateway:
    def __init__(self, settings: GatewaySettings, channel: grpc.aio.Channel) -> None:
        self.settings = settings
        self.base = settings.public_url
        self.rpc = SnapshotStubs(channel)

    # -- plumbing ------------------------------------------------------------
    def call_options(self, request: web.Request) -> dict:
        header = authorization(request)
        if header is None:
            raise errors.Unauthenticated("Authorization failed")
        return {"metadata": (("authorization", header),), "timeout": self.settings.rpc_timeout}

    async def body(self, request: web.Request) -> dict:
        if request.content_length is not None and request.content_length > self.settings.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.settings.max_body_bytes,
                                                actual_size=request.content_length)
        try:
            raw = await request.read()
        except (RequestPayloadError, HttpProcessingError):
            # A broken chunked or compressed body: the client's fault, and its
            # bytes are not quoted back.
            raise errors.InvalidRequest("Request body could not be read (bad transfer or content encoding)") from None
        return parse_body(request.headers.get("Content-Type"), raw)

    @staticmethod
    def path_id(request: web.Request, name: str, what: str) -> int:
        value = request.match_info[name]
        if not ID.fullmatch(value):
            raise errors.NotFound(f"{what} not found")
        return int(value)

    def service_id(self, request: web.Request) -> str:
        """Service ids are strings in the API, digits in fact: anything else
        is a 404 here, before any bytes of it reach an RPC."""
        return str(self.path_id(request, "id", "service"))

    # -- snapshots and jobs ---------------------------------------------------
    async def create_snapshot(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        rpc = translate.create_snapshot(await self.body(request))
        if (key := request.headers.get(idempotency_key.HEADER)) is not None:
            rpc.idempotency_key = idempotency_key.checked(key)  # checked before it enters a protobuf string
        snap = await self.rpc.snapshots.CreateSnapshot(rpc, **opts)
        return json_response(views.snapshot(snap, self.base), 202, {"Location": f"/v1/snapshots/{snap.id}"})

    async def get_snapshot(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        snap = await self.rpc.snapshots.GetSnapshot(
            snapshots_pb2.GetSnapshotRequest(id=self.path_id(request, "id", "snapshot")), **opts)
        return json_response(views.snapshot(snap, self.base))

    async def list_snapshots(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        reply = await self.rpc.snapshots.ListSnapshots(
            snapshots_pb2.ListSnapshotsRequest(page=translate.page_request(request.query)), **opts)
        return json_response({"query": views.query(reply.page),
                              "snapshots": [views.snapshot(s, self.base) for s in reply.snapshots]})

    async def get_job(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        job = await self.rpc.snapshots.GetJob(snapshots_pb2.GetJobRequest(id=self.path_id(request, "id", "job")), **opts)
        return json_response(views.job(job))

    # -- spaces and charts ----------------------------------------------------
    async def create_space(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        body = await self.body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise errors.InvalidParams.one("name", "is required")
        space = await self.rpc.spaces.CreateSpace(spaces_pb2.CreateSpaceRequest(name=name), **opts)
        return json_response(views.space(space), 201, {"Location": f"/v1/spaces/{space.id}"})

    async def list_spaces(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        reply = await self.rpc.spaces.ListSpaces(
            spaces_pb2.ListSpacesRequest(page=translate.page_request(request.query),
                                         name=request.query.get("name", "")), **opts)
        return json_response({"query": views.query(reply.page),
                              "spaces": [views.space(s, with_charts=False) for s in reply.spaces]})

    async def get_space(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        space = await self.rpc.spaces.GetSpace(
            spaces_pb2.GetSpaceRequest(id=self.path_id(request, "id", "space")), **opts)
        return json_response(views.space(space))

    async def update_space(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        body = await self.body(request)
        rpc = spaces_pb2.UpdateSpaceRequest(id=self.path_id(request, "id", "space"))
        if body.get("name") is not None:
            if not isinstance(body["name"], str):
                raise errors.InvalidParams.one("name", "must be a string")
            rpc.name = body["name"]
        await self.rpc.spaces.UpdateSpace(rpc, **opts)
        return web.Response(status=204)

    async def delete_space(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        await self.rpc.spaces.DeleteSpace(spaces_pb2.DeleteSpaceRequest(id=self.path_id(request, "id", "space")), **opts)
        return web.Response(status=204)

    async def create_chart(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        space_id = self.path_id(request, "id", "space")
        fields = translate.chart_fields(await self.body(request))
        chart = await self.rpc.spaces.CreateChart(spaces_pb2.CreateChartRequest(space_id=space_id, chart=fields), **opts)
        return json_response(views.chart(chart), 201, {"Location": f"/v1/spaces/{space_id}/charts/{chart.id}"})

    async def list_charts(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        reply = await self.rpc.spaces.ListCharts(
            spaces_pb2.ListChartsRequest(space_id=self.path_id(request, "id", "space")), **opts)
        return json_response([views.chart(c) for c in reply.charts])  # a bare array, as clients expect

    async def get_chart(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        chart = await self.rpc.spaces.GetChart(spaces_pb2.GetChartRequest(
            space_id=self.path_id(request, "id", "space"), chart_id=self.path_id(request, "chart_id", "chart")), **opts)
        return json_response(views.chart(chart))

    async def update_chart(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        fields = translate.chart_fields(await self.body(request))
        chart = await self.rpc.spaces.UpdateChart(spaces_pb2.UpdateChartRequest(
            space_id=self.path_id(request, "id", "space"), chart_id=self.path_id(request, "chart_id", "chart"),
            chart=fields), **opts)
        return json_response(views.chart(chart))

    async def delete_chart(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        await self.rpc.spaces.DeleteChart(spaces_pb2.DeleteChartRequest(
            space_id=self.path_id(request, "id", "space"), chart_id=self.path_id(request, "chart_id", "chart")), **opts)
        return web.Response(status=204)

    # -- measurements ---------------------------------------------------------
    async def _submit(self, request: web.Request, translate_body: Callable) -> web.Response:
        opts = self.call_options(request)
        rpc, rejected, total = translate_body(await self.body(request))
        accepted = 0
        if rpc.measurements or rpc.columns:  # columns: plain samples, columnar (translate._columns)
            reply = await self.rpc.measurements.SubmitMeasurements(rpc, **opts)
            accepted = reply.accepted
            rejected.update({e.field: list(e.messages) for e in reply.rejected})
        if total and not accepted and rejected:
            raise errors.InvalidParams(rejected)
        body: dict = {"measurements": {"summary": {"total": total, "accepted": accepted,
                                                   "failed": len(rejected), "filtered": 0}}}
        if rejected:
            body["errors"] = {"params": bounded_fields(rejected)}
        return json_response(body, 202)

    async def submit_measurements(self, request: web.Request) -> web.Response:
        return await self._submit(request, translate.submit_measurements)

    async def submit_legacy_metrics(self, request: web.Request) -> web.Response:
        return await self._submit(request, translate.submit_legacy_metrics)

    async def query_measurements(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        rpc = translate.query_measurements(request.match_info["name"], request.query)
        reply = await self.rpc.measurements.QueryMeasurements(rpc, **opts)
        return json_response(views.measurements(reply))

    # -- services (notification targets) ----------------------------------------
    async def create_service(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        created = await self.rpc.destinations.CreateDestination(translate.create_destination(await self.body(request)), **opts)
        return json_response(views.destination(created), 201, {"Location": f"/v1/services/{created.id}"})

    async def get_service(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        found = await self.rpc.destinations.GetDestination(
            destinations_pb2.GetDestinationRequest(id=self.service_id(request)), **opts)
        return json_response(views.destination(found))

    async def update_service(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        rpc = translate.update_destination(self.service_id(request), await self.body(request))
        await self.rpc.destinations.UpdateDestination(rpc, **opts)
        return web.Response(status=204)

    async def delete_service(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        await self.rpc.destinations.DeleteDestination(
            destinations_pb2.DeleteDestinationRequest(id=self.service_id(request)), **opts)
        return web.Response(status=204)

    async def list_services(self, request: web.Request) -> web.Response:
        opts = self.call_options(request)
        reply = await self.rpc.destinations.ListDestinations(
            destinations_pb2.ListDestinationsRequest(page=translate.page_request(request.query)), **opts)
        return json_response({"query": views.query(reply.page),
                              "services": [views.destination(d) for d in reply.services]})

    async def healthz(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def openapi_document(self, request: web.Request) -> web.Response:
        return web.Response(text=openapi.DOCUMENT_TEXT, content_type="application/json")


def build_app(settings: GatewaySettings, channel: grpc.aio.Channel) -> web.Application:
    gw = Gateway(settings, channel)
    # client_max_size bounds what aiohttp will read at all; 413 beyond it.
    # The request id and access log outermost: every reply carries the id, a
    # 429 too. Metrics next: they record the status errors_middleware chose;
    # rate limits next: they read that status to tell a 401 from an accepted call.
    app = web.Application(middlewares=[access_log_middleware, request_metrics_middleware, rate_limit_middleware,
                                       errors_middleware],
                          client_max_size=settings.max_body_bytes)
    app[GATEWAY] = gw
    app[RATE_LIMITS] = RateLimits.per_minute(settings.rate_limit, settings.auth_failure_limit)
    app.add_routes([
        web.get("/healthz", gw.healthz),
        web.get("/openapi.json", gw.openapi_document),
        web.post("/v1/snapshots", gw.create_snapshot),
        web.get("/v1/snapshots", gw.list_snapshots),
        web.get("/v1/snapshots/{id}", gw.get_snapshot),
        web.get("/v1/jobs/{id}", gw.get_job),
        web.post("/v1/spaces", gw.create_space),
        web.get("/v1/spaces", gw.list_spaces),
        web.get("/v1/spaces/{id}", gw.get_space),
        web.put("/v1/spaces/{id}", gw.update_space),
        web.delete("/v1/spaces/{id}", gw.delete_space),
        web.post("/v1/spaces/{id}/charts", gw.create_chart),
        web.get("/v1/spaces/{id}/charts", gw.list_charts),
        web.get("/v1/spaces/{id}/charts/{chart_id}", gw.get_chart),
        web.put("/v1/spaces/{id}/charts/{chart_id}", gw.update_chart),
        web.delete("/v1/spaces/{id}/charts/{chart_id}", gw.delete_chart),
        web.post("/v1/measurements", gw.submit_measurements),
        web.get("/v1/measurements/{name}", gw.query_measurements),
        web.post("/v1/metrics", gw.submit_legacy_metrics),
        web.post("/v1/services", gw.create_service),
        web.get("/v1/services", gw.list_services),
        web.get("/v1/services/{id}", gw.get_service),
        web.put("/v1/services/{id}", gw.update_service),
        web.delete("/v1/services/{id}", gw.delete_service),
    ])
    app.add_routes(metric_routes(gw))  # GET /v1/metrics, GET and PUT /v1/metrics/{name}
    app.add_routes(annotation_routes(gw))  # /v1/annotations and below
    app.add_routes(snapshot_data_routes(gw))  # GET /v1/snapshots/{id}/data
    app.add_routes(share_routes(gw.rpc.snapshots, settings.public_url, settings.rpc_timeout))  # public: /s/{token}
    app.add_routes(ApiDocs.load().routes())  # public: /docs and its assets
    return app
