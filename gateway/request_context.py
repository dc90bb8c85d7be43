"""Request ids at the gateway: the outermost middleware (the id, the response
header, the access log) and the channel interceptor that carries the id on
every gRPC call.

Each request gets its id: the client's `X-Request-Id` when sane, else a new
one (chartsnap.request_ids; a hostile header is dropped, never echoed). The id
is bound in the log context while the request is handled, so every line the
gateway writes for it says it and every gRPC call made for it carries it as
`x-request-id` metadata (RequestIdMetadata, on the gateway's one channel);
every response returns it in `X-Request-Id`, error
replies included.

One access line per request (logger ACCESS_LOGGER): method, path (the query
string is left out, a share page's secret cut out: it alone opens the page), route, status, duration_ms, remote (the TCP peer), and
the account's e-mail only once the snapshot service accepted the credentials
(a 2xx under API_PREFIX, where every route checks them): the user part of
credentials refused, or sent where nothing checks them, may be anything, a
pasted token included. The Authorization header and the token are never
logged. A health probe answered OK is a DEBUG line: probes every few seconds
would bury the requests people follow."""

from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable

import grpc
from aiohttp import web

from chartsnap import request_ids
from chartsnap.basic_auth import parse_basic
from chartsnap.image_keys import loggable_path
from gateway.request_metrics import route_of

ACCESS_LOGGER = "gateway.access"
MAX_LOGGED_PATH = 1024    # aiohttp takes request lines up to 8 KB; a line need not hold all of one
MAX_LOGGED_EMAIL = 254    # the longest e-mail address there is
PROBE_PATHS = frozenset({"/healthz"})
API_PREFIX = "/v1/"       # every route under it authenticates the caller

log = logging.getLogger(ACCESS_LOGGER)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def account_of(request: web.Request, status: int) -> str | None:
    """The account's e-mail, when the request was accepted as theirs."""
    if not (200 <= status < 300 and request.path.startswith(API_PREFIX)):
        return None
    credentials = parse_basic(request.headers.get("Authorization"))
    return credentials[0][:MAX_LOGGED_EMAIL] if credentials else None


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_ids.from_client(request.headers.get(request_ids.HTTP_HEADER))
    started = time.perf_counter()
    status = 500  # what aiohttp answers for an exception no middleware turned into a reply
    with request_ids.bound(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:   # a streamed response has sent its headers already
                response.headers[request_ids.HTTP_HEADER] = request_id
            return response
        except web.HTTPException as exc:  # redirects and the like, raised through every middleware
            status = exc.status
            exc.headers[request_ids.HTTP_HEADER] = request_id
            raise
        finally:
            fields = {"method": request.method, "path": loggable_path(request.path)[:MAX_LOGGED_PATH],
                      "route": route_of(request), "status": status,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                      "remote": request.remote}
            if (account := account_of(request, status)) is not None:
                fields["account"] = account
            level = logging.DEBUG if request.path in PROBE_PATHS and status < 400 else logging.INFO
            log.log(level, "%s %s %s", request.method, fields["path"], status, extra=fields)


class RequestIdMetadata(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the bound request id to every unary call's metadata, whichever
    route or middleware makes the call."""

    async def intercept_unary_unary(self, continuation, client_call_details: grpc.aio.ClientCallDetails,
                                    request):  # noqa: ANN001, ANN201 - grpc's own signature
        extra = request_ids.grpc_metadata()
        metadata = list(client_call_details.metadata or ())
        if extra and not any(key == request_ids.GRPC_METADATA_KEY for key, _ in metadata):
            client_call_details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata, *extra))
        return await continuation(client_call_details, request)
